//! Which reader served each layer of a snapshot, and why a faster one did
//! not: the `sources` of `snapshot --json` and of the benchmark history.
//!
//! A kernel update can refuse a BPF program that loaded the day before; the
//! snapshot then degrades one layer at a time, and this record is how a
//! person (or a benchmark) tells a kernel's refusal from a regression.

use limier_platform::{LayerReader, PlatformError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The readers of every optional layer a capture read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    /// Open fds, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fds: Option<LayerSources>,
    /// Mapped files, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<LayerSources>,
    /// The process table, when it was read alone (nothing else per
    /// process, no pin: port questions), where the kernel's task iterator
    /// can serve it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<LayerSources>,
}

/// The readers of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerSources {
    /// How many processes each reader served (a process the faster reader
    /// could not describe is read by the next one: another incarnation, a
    /// stacked file system's file, a process born during the pass).
    pub served: BTreeMap<LayerReader, usize>,
    /// The faster reader that was not used at all, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_used: Option<NotUsed>,
}

impl LayerSources {
    /// The reader that served the most processes, if any served.
    pub fn main_reader(&self) -> Option<LayerReader> {
        self.served
            .iter()
            .max_by_key(|(_, count)| **count)
            .map(|(reader, _)| *reader)
    }
}

/// A reader not used for a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotUsed {
    /// The reader.
    pub reader: LayerReader,
    /// Why.
    pub why: WhyNotUsed,
}

/// Why a faster reader was not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WhyNotUsed {
    /// The caller asked for the /proc readers (`LIMIER_FD_SOURCE=proc`,
    /// `LIMIER_MAPS_SOURCE=proc`).
    NotAsked,
    /// Too few processes for loading a program to pay.
    FewProcesses {
        /// Processes on the machine.
        processes: usize,
        /// From how many the kernel reader is used.
        threshold: usize,
    },
    /// limier lacks the privileges (root, or CAP_BPF with CAP_PERFMON).
    NotPrivileged,
    /// The kernel's verifier refused the program.
    RefusedByKernel {
        /// The kernel release (`uname -r`).
        kernel: String,
        /// The verifier's last words: the refused instruction and why.
        verifier: String,
    },
    /// The kernel or this setup lacks something the reader needs (another
    /// pid namespace, no BTF, no task_vma iterator, a copied proc tree).
    Unavailable {
        /// What the platform said.
        reason: String,
    },
}

impl WhyNotUsed {
    /// Classifies the error a kernel reader failed with.
    pub fn from_error(err: &PlatformError) -> Self {
        const EPERM: i32 = 1;
        match err {
            PlatformError::Bpf {
                refusal: Some(refusal),
                ..
            } => WhyNotUsed::RefusedByKernel {
                kernel: refusal.kernel.clone(),
                verifier: refusal.log.clone(),
            },
            PlatformError::Bpf { source, .. } if source.raw_os_error() == Some(EPERM) => {
                WhyNotUsed::NotPrivileged
            }
            PlatformError::PermissionDenied { .. } => WhyNotUsed::NotPrivileged,
            other => WhyNotUsed::Unavailable {
                reason: other.to_string(),
            },
        }
    }
}

impl std::fmt::Display for WhyNotUsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WhyNotUsed::NotAsked => f.write_str("not asked for"),
            WhyNotUsed::FewProcesses {
                processes,
                threshold,
            } => write!(f, "{processes} processes, fewer than {threshold}"),
            WhyNotUsed::NotPrivileged => f.write_str("needs root (CAP_BPF and CAP_PERFMON)"),
            WhyNotUsed::RefusedByKernel { kernel, verifier } => {
                write!(f, "refused by kernel {kernel}: {verifier}")
            }
            WhyNotUsed::Unavailable { reason } => f.write_str(reason),
        }
    }
}

/// Counts, while a capture reads in parallel, which reader served each
/// process's layer.
#[derive(Debug, Default)]
pub(super) struct Tally {
    counts: [AtomicUsize; LayerReader::ALL.len()],
}

impl Tally {
    pub(super) fn add(&self, reader: LayerReader) {
        self.add_many(reader, 1);
    }

    pub(super) fn add_many(&self, reader: LayerReader, count: usize) {
        let index = LayerReader::ALL
            .iter()
            .position(|r| *r == reader)
            .expect("every reader is in ALL");
        self.counts[index].fetch_add(count, Ordering::Relaxed);
    }

    pub(super) fn into_sources(self, not_used: Option<NotUsed>) -> LayerSources {
        let served = LayerReader::ALL
            .iter()
            .zip(self.counts)
            .map(|(reader, count)| (*reader, count.into_inner()))
            .filter(|(_, count)| *count > 0)
            .collect();
        LayerSources { served, not_used }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn a_verifier_refusal_names_the_kernel_and_the_line() {
        let refused = PlatformError::Bpf {
            step: "loading the map iterator",
            source: io::Error::from_raw_os_error(13),
            refusal: Some(limier_platform::VerifierRefusal {
                kernel: "6.18.44-fc".into(),
                log: "47: (85) call bpf_d_path#147 / R1 type=untrusted_ptr_".into(),
            }),
        };
        assert!(refused.to_string().ends_with(
            "(kernel 6.18.44-fc refused it: 47: (85) call bpf_d_path#147 / R1 type=untrusted_ptr_)"
        ));
        let why = WhyNotUsed::from_error(&refused);
        let WhyNotUsed::RefusedByKernel { kernel, verifier } = &why else {
            panic!("{why:?}")
        };
        assert_eq!(kernel, "6.18.44-fc");
        assert!(verifier.contains("untrusted_ptr_"));
        assert!(why.to_string().starts_with("refused by kernel "));
        let denied = PlatformError::Bpf {
            step: "creating the scratch map",
            source: io::Error::from_raw_os_error(1),
            refusal: None,
        };
        assert_eq!(WhyNotUsed::from_error(&denied), WhyNotUsed::NotPrivileged);
        let namespace = PlatformError::Unsupported {
            what: "the BPF iterators outside the initial pid namespace",
        };
        assert!(matches!(
            WhyNotUsed::from_error(&namespace),
            WhyNotUsed::Unavailable { reason } if reason.contains("pid namespace")
        ));
    }

    #[test]
    fn the_tally_counts_each_reader_and_leaves_out_the_unused() {
        let tally = Tally::default();
        for _ in 0..3 {
            tally.add(LayerReader::KernelIterator);
        }
        tally.add(LayerReader::MapsText);
        let sources = tally.into_sources(None);
        assert_eq!(
            sources.served,
            BTreeMap::from([(LayerReader::KernelIterator, 3), (LayerReader::MapsText, 1)])
        );
        assert_eq!(sources.main_reader(), Some(LayerReader::KernelIterator));
        let json = serde_json::to_value(&sources).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"served": {"kernel-iterator": 3, "maps-text": 1}})
        );
    }
}
