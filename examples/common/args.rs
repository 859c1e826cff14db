//! The examples' one command-line parser. Each flag is declared where it
//! is read, with its help line, so `--help` lists exactly the flags an
//! example reads, with their defaults. Flags are `--name value`,
//! `--name=value`, or switches (`--profile`); a flag given twice takes its
//! last value; anything not declared is an error.
//!
//! ```text
//! let mut args = Args::new("usage: cargo run --example NAME -- [flags]");
//! let steps = args.value("--steps N", 300usize, "training steps");
//! let show = args.value("--show-graph", false, "list the graph");
//! args.finish()?; // --help: prints the usage and exits
//! ```
//!
//! The MNIST examples include it through `common`, the others with
//! `#[path = "common/args.rs"] mod args;`.

use std::path::PathBuf;

/// A flag's value type: how it is read from the text after the flag and
/// how its default is shown in `--help`.
pub trait FlagValue: Sized {
    /// What the text must be, for error messages (`a number`).
    const EXPECTED: &'static str;
    /// The value written as `text`, if it is one.
    fn parse_flag(text: &str) -> Option<Self>;
    /// The default as `--help` shows it, or `None` to show none.
    fn show(&self) -> Option<String>;
}

macro_rules! number_flags {
    ($($t:ty)*) => {$(
        impl FlagValue for $t {
            const EXPECTED: &'static str = "a number";
            fn parse_flag(text: &str) -> Option<Self> {
                text.parse().ok()
            }
            fn show(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
number_flags!(usize u64 f32 f64);

impl FlagValue for String {
    const EXPECTED: &'static str = "a value";
    fn parse_flag(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
    fn show(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl FlagValue for PathBuf {
    const EXPECTED: &'static str = "a path";
    fn parse_flag(text: &str) -> Option<Self> {
        Some(PathBuf::from(text))
    }
    fn show(&self) -> Option<String> {
        Some(self.display().to_string())
    }
}

/// A switch: declared without a value placeholder, `true` when given.
impl FlagValue for bool {
    const EXPECTED: &'static str = "true or false";
    fn parse_flag(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn show(&self) -> Option<String> {
        self.then(|| "on".to_string())
    }
}

/// A flag with no default.
impl<T: FlagValue> FlagValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn parse_flag(text: &str) -> Option<Self> {
        T::parse_flag(text).map(Some)
    }
    fn show(&self) -> Option<String> {
        self.as_ref().and_then(T::show)
    }
}

/// The command line being read.
pub struct Args {
    usage: String,
    args: Vec<String>,
    /// Which of `args` a declared flag has read.
    read: Vec<bool>,
    /// Bad values, reported by [`Args::finish`].
    errors: Vec<String>,
}

impl Args {
    /// The process's arguments; `usage` is the first line of `--help`.
    pub fn new(usage: &str) -> Args {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Args {
            usage: format!("{usage}\n"),
            read: vec![false; args.len()],
            args,
            errors: Vec::new(),
        }
    }

    /// The flag `spec` (`"--steps N"`: its name and a placeholder for its
    /// value; a name alone declares a switch), or `default` when it is not
    /// given. `help` is its line in `--help`, followed by the default
    /// unless it says where the default goes (`{default}`). A value that
    /// does not parse is reported by [`Args::finish`].
    pub fn value<T: FlagValue>(&mut self, spec: &str, default: T, help: &str) -> T {
        let (name, takes_value) = match spec.split_once(' ') {
            Some((name, _)) => (name, true),
            None => (spec, false),
        };
        let help = match (default.show(), help.contains("{default}")) {
            (Some(d), true) => help.replace("{default}", &d),
            (Some(d), false) => format!("{help} (default {d})"),
            (None, _) => help.to_string(),
        };
        self.usage.push_str(&format!("\n  {spec:<20} {help}"));
        let mut value = default;
        let mut i = 0;
        while i < self.args.len() {
            if self.read[i] {
                // Another flag's value (or a flag declared before).
                i += 1;
                continue;
            }
            let arg = &self.args[i];
            let text = if arg == name && !takes_value {
                Some("true".to_string())
            } else if arg == name {
                self.read[i] = true;
                i += 1;
                match self.args.get(i) {
                    Some(v) => Some(v.clone()),
                    None => {
                        self.errors.push(format!("{name} needs a value"));
                        None
                    }
                }
            } else {
                arg.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_string)
            };
            if let Some(text) = text {
                self.read[i] = true;
                match T::parse_flag(&text) {
                    Some(v) => value = v,
                    None => self
                        .errors
                        .push(format!("{name} expects {}, got `{text}`", T::EXPECTED)),
                }
            }
            i += 1;
        }
        value
    }

    /// Ends the reading: with `--help` (or `-h`) prints the usage and
    /// exits; otherwise fails on the first bad value, or on an undeclared
    /// flag (after printing the usage to stderr).
    pub fn finish(self) -> Result<(), String> {
        if self.args.iter().any(|a| a == "--help" || a == "-h") {
            println!("{}", self.usage);
            std::process::exit(0);
        }
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        match self.args.iter().zip(&self.read).find(|(_, &read)| !read) {
            Some((arg, _)) => {
                eprintln!("{}\n", self.usage);
                Err(format!("unknown flag `{arg}` (the flags are listed above)"))
            }
            None => Ok(()),
        }
    }
}
