//! Helpers shared by the integration tests of this crate.

#![allow(dead_code)] // each test file uses its own subset
#![allow(clippy::unwrap_used)] // test support: a poisoned lock or bad UTF-8 should fail the test loudly

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};

/// A log output the test can read back.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that blocks every write until the test opens the gate.
#[derive(Clone)]
pub struct Gate {
    open: Arc<(Mutex<bool>, Condvar)>,
    pub buffer: Buffer,
}

impl Gate {
    pub fn closed() -> Self {
        Self {
            open: Arc::new((Mutex::new(false), Condvar::new())),
            buffer: Buffer::default(),
        }
    }

    pub fn open(&self) {
        let (lock, cv) = &*self.open;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (lock, cv) = &*self.open;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        drop(open);
        self.buffer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
