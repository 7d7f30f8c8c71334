//! Bounded waits for filesystem work that a dead mount can block forever.

use std::time::Duration;

/// Runs `job` on a helper thread and waits at most `patience` for its
/// answer; `None` when it did not come in time.
///
/// A thread blocked in the kernel on a filesystem that does not answer (a
/// dead NFS server, a stopped FUSE daemon) cannot be cancelled, so it is
/// left behind; the kernel frees it when the filesystem answers or the
/// process exits. When no thread can be spawned, `job` runs here, unbounded.
pub fn within<T: Send + 'static>(
    patience: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let job = std::sync::Arc::new(std::sync::Mutex::new(Some(job)));
    let for_thread = std::sync::Arc::clone(&job);
    let spawned = std::thread::Builder::new()
        .name("bounded-fs".into())
        .spawn(move || {
            let job = for_thread.lock().ok().and_then(|mut slot| slot.take());
            if let Some(job) = job {
                let _ = sender.send(job());
            }
        });
    match spawned {
        Ok(_) => receiver.recv_timeout(patience).ok(),
        Err(_) => {
            let job = job.lock().ok().and_then(|mut slot| slot.take())?;
            Some(job())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_in_time_is_returned_and_a_late_one_is_not() {
        assert_eq!(within(Duration::from_secs(5), || 42), Some(42));
        let started = std::time::Instant::now();
        let late = within(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(2));
            1
        });
        assert_eq!(late, None);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
