//! A child process that maps files, for the tests of the mapping readers.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A python3 child that mapped `files` in order (each created with 8 KiB
/// when missing; a file named twice is mapped twice), then unlinked
/// `unlink`; it lives until [`finish`](Self::finish) or drop.
pub struct MappingChild(Child);

impl MappingChild {
    pub fn start(files: &[&Path], unlink: &Path) -> MappingChild {
        let paths: Vec<String> = files.iter().map(|p| format!("{p:?}, ")).collect();
        let script = format!(
            "import mmap, os, sys\n\
             maps = []\n\
             for path in ({}):\n\
             \x20   if not os.path.exists(path):\n\
             \x20       with open(path, 'wb') as f: f.write(b'x' * 8192)\n\
             \x20   fd = os.open(path, os.O_RDONLY)\n\
             \x20   maps.append(mmap.mmap(fd, 0, prot=mmap.PROT_READ))\n\
             \x20   os.close(fd)\n\
             os.unlink({unlink:?})\n\
             print('ready', flush=True)\n\
             sys.stdin.read()\n",
            paths.concat()
        );
        let mut child = Command::new("python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        MappingChild(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Ends the child and reaps it.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

impl Drop for MappingChild {
    fn drop(&mut self) {
        self.end();
    }
}
