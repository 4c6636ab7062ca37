//! Object storage: the S3 actor and its handle (being built; see issue 6).
