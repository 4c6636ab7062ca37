//! Cluster mode: the I/O shell that joins this node to the others through
//! NATS JetStream, beside the hub (the router stays pure). See
//! docs/cluster.md for subjects, streams, consumers and what survives what.
//!
//! - `backplane`: connects, creates the streams and the bucket.
//! - `shell`: carries out the hub's [`Order`](crate::hub::Order)s:
//!   publishes accepted work, sends answers back, settles messages.
//! - `intake`: takes work for local instances (one shared durable pull
//!   consumer per service, fetching only what local slots can take),
//!   answers for local instances, and keeps held messages alive with
//!   in-progress acks.
//! - `registry`: what each node's instances serve, in a KV bucket watched
//!   by every node.
//! - `names`: subjects, names and headers.
//! - `patience`: the one retry loop for what JetStream cannot take yet.

mod backplane;
mod config;
mod intake;
mod names;
mod patience;
mod registry;
mod shell;

pub use config::{
    ClusterConfig, DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_WORK_BYTES, DEFAULT_PATIENCE_MS, NatsAuth,
};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::Result;
use crate::hub::{Hub, Order};

/// The running shell; dropping it stops its tasks.
pub struct Cluster {
    tasks: Vec<actix_rt::task::JoinHandle<()>>,
    shell: Arc<shell::Shell>,
}

impl Cluster {
    /// Joins the cluster: connects, makes sure the streams exist, and
    /// starts carrying out the hub's orders from `orders`.
    ///
    /// # Errors
    /// [`crate::Error::Backplane`] when NATS cannot be reached or refuses.
    pub async fn start(
        config: ClusterConfig,
        hub: Arc<Hub>,
        orders: mpsc::UnboundedReceiver<Order>,
        service_ttl: Duration,
        max_deadline: Duration,
    ) -> Result<Self> {
        let backplane = backplane::open(&config, service_ttl, max_deadline, hub.clone()).await?;
        hub.set_backplane_up(true);
        let shell = Arc::new(shell::Shell::new(config, backplane, hub, service_ttl));
        let tasks = vec![
            actix_rt::spawn(shell.clone().dispatch(orders)),
            actix_rt::spawn(shell.clone().http_answers()),
            actix_rt::spawn(shell.clone().keep_alive()),
            actix_rt::spawn(shell.clone().watch_services()),
            actix_rt::spawn(shell.clone().announce()),
        ];
        Ok(Self { tasks, shell })
    }

    /// Stops taking work and gives back what is held; the node's accepted
    /// work is in the backplane already.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shell.stop().await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
