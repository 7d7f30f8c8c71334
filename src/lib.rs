//! limier: process forensics from one native snapshot.
//!
//! Capture a [`snapshot::Snapshot`] once, then ask it questions with
//! [`query`]: who holds a port, how a process came to be, who uses a
//! directory, who carries an environment tag. [`sweep`] kills a selection of
//! processes without ever signalling a recycled pid, and [`ecluse`] reads
//! ecluse's files to answer its session questions natively.
//!
//! ```no_run
//! use limier::query::{holders, ancestry, PortQuery};
//! use limier::snapshot::{capture, CaptureOptions, Layers};
//!
//! let backend = limier_platform::Backend::new()?;
//! let snapshot = capture(&backend, CaptureOptions::new(Layers::PORTS))?;
//! for holding in holders(&snapshot, PortQuery::new(3000))? {
//!     for pid in holding.pids() {
//!         let chain = ancestry(&snapshot, pid)?;
//!         println!("{pid}: {} links to init", chain.len());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cli;
pub mod ecluse;
pub mod patience;
pub mod query;
pub mod snapshot;
pub mod sweep;

pub use limier_platform as platform;
