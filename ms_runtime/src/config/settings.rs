//! The table of settings: each one's environment variable, TOML key, and
//! whether its value is a secret.

/// One setting: its environment variable, its key in the TOML file, and
/// whether its value is a secret.
pub(super) struct Setting {
    /// The environment variable, also the name errors use.
    pub(super) var: &'static str,
    /// The key in the TOML file (`s3.` keys sit in the `[s3]` table).
    pub(super) file_key: &'static str,
    /// A secret is never repeated in errors or `Debug`.
    pub(super) is_secret: bool,
}

macro_rules! settings {
    ($($name:ident = $var:literal, $key:literal, $secret:literal;)*) => {
        $(pub(super) const $name: Setting = Setting { var: $var, file_key: $key, is_secret: $secret };)*
        /// Every setting, in the order of the documentation.
        pub(super) const ALL: &[Setting] = &[$($name),*];
    };
}

settings! {
    GATEWAY_URL = "MS_GATEWAY_URL", "gateway_url", false;
    GATEWAY_HOST = "MS_GATEWAY_HOST", "gateway_host", false;
    GATEWAY_TLS = "MS_GATEWAY_TLS", "gateway_tls", false;
    USERNAME = "MS_USERNAME", "username", false;
    PASSWORD = "MS_PASSWORD", "password", true;
    SERVICE_NAME = "MS_SERVICE_NAME", "service_name", false;
    INSTANCE_ID = "MS_INSTANCE_ID", "instance_id", false;
    MAX_IN_FLIGHT = "MS_MAX_IN_FLIGHT", "max_in_flight", false;
    TLS_CA_FILE = "MS_TLS_CA_FILE", "tls_ca_file", false;
    S3_ENDPOINT = "MS_S3_ENDPOINT", "s3.endpoint", false;
    S3_REGION = "MS_S3_REGION", "s3.region", false;
    S3_BUCKET = "MS_S3_BUCKET", "s3.bucket", false;
    S3_ACCESS_KEY_ID = "MS_S3_ACCESS_KEY_ID", "s3.access_key_id", false;
    S3_SECRET_ACCESS_KEY = "MS_S3_SECRET_ACCESS_KEY", "s3.secret_access_key", true;
    LOG_LEVEL = "MS_LOG_LEVEL", "log_level", false;
    LOG_FORMAT = "MS_LOG_FORMAT", "log_format", false;
    CLAIM_THRESHOLD = "MS_CLAIM_CHECK_THRESHOLD", "claim_check_threshold", false;
    CLAIM_BUCKET = "MS_CLAIM_CHECK_BUCKET", "claim_check_bucket", false;
    CLAIM_PREFIX = "MS_CLAIM_PREFIX", "claim_prefix", false;
    CLAIM_ACCEPT = "MS_CLAIM_ACCEPT", "claim_accept", false;
    HANDLER_THREADS = "MS_HANDLER_THREADS", "handler_threads", false;
    INLINE_BUDGET = "MS_INLINE_BUDGET_MS", "inline_budget_ms", false;
    HEALTH_BIND = "MS_HEALTH_BIND", "health_bind", false;
    METRICS_BIND = "MS_METRICS_BIND", "metrics_bind", false;
    RECONNECT_INITIAL = "MS_RECONNECT_INITIAL_MS", "reconnect_initial_ms", false;
    RECONNECT_MAX = "MS_RECONNECT_MAX_MS", "reconnect_max_ms", false;
    AUTH_RETRY_INITIAL = "MS_AUTH_RETRY_INITIAL_MS", "auth_retry_initial_ms", false;
    AUTH_RETRY_MAX = "MS_AUTH_RETRY_MAX_MS", "auth_retry_max_ms", false;
    HEALTHY_AFTER = "MS_HEALTHY_AFTER_MS", "healthy_after_ms", false;
    CONNECT_TIMEOUT = "MS_CONNECT_TIMEOUT_MS", "connect_timeout_ms", false;
    SHUTDOWN_GRACE = "MS_SHUTDOWN_GRACE_MS", "shutdown_grace_ms", false;
    DEDUP_WINDOW = "MS_DEDUP_WINDOW_MS", "dedup_window_ms", false;
    DEDUP_CAPACITY = "MS_DEDUP_CAPACITY", "dedup_capacity", false;
    DEDUP_MAX_BYTES = "MS_DEDUP_MAX_BYTES", "dedup_max_bytes", false;
    OUTBOX_CAPACITY = "MS_OUTBOX_CAPACITY", "outbox_capacity", false;
    REQUEST_TIMEOUT = "MS_REQUEST_TIMEOUT_MS", "request_timeout_ms", false;
    MAX_FRAME_BYTES = "MS_MAX_FRAME_BYTES", "max_frame_bytes", false;
}

/// The secret settings that may instead be read from a file, and the
/// variable naming that file (`MS_PASSWORD_FILE=/run/secrets/password`),
/// the form container platforms mount secrets in.
pub(super) const SECRET_FILES: &[(&Setting, &str)] = &[
    (&PASSWORD, "MS_PASSWORD_FILE"),
    (&S3_SECRET_ACCESS_KEY, "MS_S3_SECRET_ACCESS_KEY_FILE"),
];

/// Settings whose value is a URL or host that may hold `user:password@`:
/// errors and `Debug` show them with that part replaced by `***`.
pub(super) fn is_url(var: &str) -> bool {
    [GATEWAY_URL.var, GATEWAY_HOST.var, S3_ENDPOINT.var].contains(&var)
}

/// Whether the setting named by `var` holds a secret.
pub(super) fn is_secret(var: &str) -> bool {
    ALL.iter().any(|s| s.var == var && s.is_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_is_readable_from_a_file_and_nothing_else_is() {
        let secrets: Vec<&str> = ALL.iter().filter(|s| s.is_secret).map(|s| s.var).collect();
        let from_files: Vec<&str> = SECRET_FILES.iter().map(|(s, _)| s.var).collect();
        assert_eq!(secrets, from_files);
        for (setting, file_var) in SECRET_FILES {
            assert_eq!(*file_var, format!("{}_FILE", setting.var));
        }
    }

    #[test]
    fn variables_and_file_keys_are_unique_and_match() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.var, b.var);
                assert_ne!(a.file_key, b.file_key);
            }
            let key = a.var.trim_start_matches("MS_").to_ascii_lowercase();
            assert_eq!(key.replacen("s3_", "s3.", 1), a.file_key, "{}", a.var);
        }
    }
}
