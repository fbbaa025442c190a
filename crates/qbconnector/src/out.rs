//! Standard output, as a Unix tool writes it.
//!
//! When whoever reads our output goes away (`qbconnector query … | head`),
//! the next write fails with a broken pipe. Rust ignores SIGPIPE, so
//! `println!` would panic and an ordinary write would return an error to
//! report; a Unix tool instead ends quietly. So does this: every write to
//! standard output goes through [`write`], which exits with status 0 on a
//! broken pipe (nothing is wrong: the reader has what it wanted).

use std::io::Write;

/// Write to standard output; end the process quietly if nobody reads it.
pub fn write(args: std::fmt::Arguments<'_>) -> Result<(), String> {
    match std::io::stdout().lock().write_fmt(args) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("cannot write to standard output: {e}")),
    }
}

/// `print!` that ends quietly on a broken pipe (see the module).
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*)) };
}

/// `println!` that ends quietly on a broken pipe (see the module).
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($t)*))) };
}
