//! What the two MNIST examples share beyond the TF scripts they port: the
//! command-line flags (read with [`args`], the parser every example
//! uses), the progress bar, evaluation of a whole split in bounded pieces,
//! and the `--plot` curves. Kept out of `mnist.rs` so that file reads like
//! the TF1 script.

mod args;

use args::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tensorgraph::datasets::mnist::{self, DataSet};
use tensorgraph::{feed, Session, Tensor};

/// Training examples per epoch with TF's default split (60,000 - 5,000).
const TRAIN_EXAMPLES: usize = 55_000;

/// The flags of both examples; each example picks its own defaults.
#[derive(Debug)]
pub struct Flags {
    pub steps: usize,
    pub batch_size: usize,
    pub keep_prob: f32,
    pub learning_rate: f64,
    pub seed: u64,
    pub data_dir: PathBuf,
    pub plot: Option<PathBuf>,
    pub save: Option<PathBuf>,
}

impl Flags {
    /// Parses `std::env::args()`; with `--help`, prints the flags (with
    /// the example's defaults) and exits.
    pub fn parse(example: &str, d: Flags) -> Result<Flags, String> {
        let mut args = Args::new(&format!(
            "usage: cargo run --release --example {example} -- [flags]"
        ));
        let mut f = d;
        f.steps = args.value("--steps N", f.steps, "training steps");
        let epochs: Option<usize> = args.value(
            "--epochs N",
            None,
            &format!("train N epochs of {TRAIN_EXAMPLES} examples instead (overrides --steps)"),
        );
        f.batch_size = args.value("--batch-size N", f.batch_size, "examples per step");
        f.keep_prob = args.value(
            "--keep-prob P",
            f.keep_prob,
            "dropout keep probability while training",
        );
        f.learning_rate = args.value("--learning-rate R", f.learning_rate, "Adam's learning rate");
        f.seed = args.value("--seed S", f.seed, "graph seed and data shuffling seed");
        f.data_dir = args.value(
            "--data-dir DIR",
            f.data_dir,
            "MNIST directory, downloaded if empty (default $MNIST_DIR or data/mnist: now {default})",
        );
        f.plot = args.value(
            "--plot FILE",
            f.plot,
            "write loss and accuracy curves, .png or .svg",
        );
        f.save = args.value(
            "--save PREFIX",
            f.save,
            "write a checkpoint of the trained variables to PREFIX-STEPS.npz",
        );
        args.finish()?;
        if !(1..=TRAIN_EXAMPLES).contains(&f.batch_size) {
            return Err(format!(
                "--batch-size must be between 1 and {TRAIN_EXAMPLES}, got {}",
                f.batch_size
            ));
        }
        if !(f.keep_prob > 0.0 && f.keep_prob <= 1.0) {
            return Err(format!(
                "--keep-prob must be in (0, 1], got {}",
                f.keep_prob
            ));
        }
        if !(f.learning_rate > 0.0 && f.learning_rate.is_finite()) {
            return Err(format!(
                "--learning-rate must be a positive number, got {}",
                f.learning_rate
            ));
        }
        if let Some(e) = epochs {
            f.steps = (e * TRAIN_EXAMPLES).div_ceil(f.batch_size);
        }
        if let Some(path) = &f.plot {
            plot_format(path)?;
            register_system_font()?;
        }
        Ok(f)
    }
}

/// The tensors a training loop and an evaluation feed and fetch.
#[derive(Clone, Copy)]
pub struct Model {
    pub x: Tensor,
    pub y: Tensor,
    pub keep_prob: Tensor,
    pub accuracy: Tensor,
    pub cost: Tensor,
}

/// Accuracy and mean cost over a whole split, with dropout off, fed
/// `chunk` examples at a time so memory stays bounded.
pub fn evaluate(
    sess: &mut Session,
    m: &Model,
    set: &DataSet,
    chunk: usize,
) -> tensorgraph::Result<(f64, f64)> {
    let n = set.num_examples();
    let (mut correct, mut cost) = (0.0, 0.0);
    for start in (0..n).step_by(chunk) {
        let (xs, ys) = set.examples(start..n.min(start + chunk));
        let rows = xs.nrows() as f64;
        let (acc, c) = sess.run(
            (m.accuracy, m.cost),
            &feed! { m.x => &xs, m.y => &ys, m.keep_prob => 1.0f32 },
        )?;
        correct += f64::from(acc.scalar::<f32>()?) * rows;
        cost += f64::from(c.scalar::<f32>()?) * rows;
    }
    Ok((correct / n as f64, cost / n as f64))
}

/// Loads MNIST with one-hot labels and the given shuffling seed,
/// downloading it into `dir` if it is not there.
pub fn load(dir: &Path, seed: u64) -> Result<mnist::Datasets, String> {
    mnist::read_data_sets_with(dir, &mnist::Options::new().one_hot(true).seed(seed)).map_err(|e| {
        format!(
            "cannot load MNIST from {}: {e}\n(--data-dir or MNIST_DIR can point at a directory \
             holding the four MNIST .gz files)",
            dir.display()
        )
    })
}

/// A bar on stderr (drawn only on a terminal) counting training steps.
pub fn progress_bar(steps: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} steps [{elapsed_precise} < {eta}] {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

/// Creates the directory `path` is to be written in, if it is missing.
pub fn create_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// Prints the training time and the time per step.
pub fn print_timing(elapsed: Duration, steps: usize) {
    println!(
        "training time: {:.1} s, {:.2} ms/step",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / steps.max(1) as f64
    );
}

/// Loss and accuracy every `every` steps: on the training batch (dropout
/// off) and on the validation set.
#[derive(Debug, Default)]
pub struct Curves {
    pub step: Vec<f64>,
    pub train_cost: Vec<f64>,
    pub train_accuracy: Vec<f64>,
    pub validation_cost: Vec<f64>,
    pub validation_accuracy: Vec<f64>,
}

impl Curves {
    /// Records one sample.
    pub fn push(&mut self, step: usize, train: (f64, f64), validation: (f64, f64)) {
        self.step.push(step as f64);
        self.train_accuracy.push(train.0);
        self.train_cost.push(train.1);
        self.validation_accuracy.push(validation.0);
        self.validation_cost.push(validation.1);
    }

    /// Draws loss (left) and accuracy (right) against the step into `path`,
    /// PNG or SVG by its extension.
    pub fn plot(&self, path: &Path, title: &str) -> Result<(), Box<dyn Error>> {
        let size = (1100, 440);
        let drawn = match plot_format(path)? {
            Format::Svg => self
                .draw(SVGBackend::new(path, size).into_drawing_area(), title)
                .map_err(|e| e.to_string()),
            Format::Png => self
                .draw(BitMapBackend::new(path, size).into_drawing_area(), title)
                .map_err(|e| e.to_string()),
        };
        drawn.map_err(|e| format!("cannot draw {}: {e}", path.display()).into())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, Shift>,
        title: &str,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 22))?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let last = self.step.last().copied().unwrap_or(1.0).max(1.0);
        let max_cost = self
            .train_cost
            .iter()
            .chain(&self.validation_cost)
            .fold(0.0f64, |a, &b| a.max(b));
        let min_acc = self
            .train_accuracy
            .iter()
            .chain(&self.validation_accuracy)
            .fold(1.0f64, |a, &b| a.min(b));
        let panels = [
            (
                left,
                "cross-entropy loss",
                0.0..max_cost * 1.05 + 1e-3,
                [&self.train_cost, &self.validation_cost],
            ),
            (
                right,
                "accuracy",
                (min_acc - 0.02).max(0.0)..1.0,
                [&self.train_accuracy, &self.validation_accuracy],
            ),
        ];
        for (area, caption, y_range, [train, validation]) in panels {
            let mut chart = ChartBuilder::on(&area)
                .caption(caption, ("sans-serif", 18))
                .margin(12)
                .margin_right(30)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(0.0..last, y_range)?;
            chart
                .configure_mesh()
                .x_desc("training step")
                .x_label_formatter(&|step| format!("{step:.0}"))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            let series = [
                ("train (batch)", train, BLUE),
                ("validation (5,000)", validation, RED),
            ];
            for (label, values, color) in series {
                let points = self.step.iter().copied().zip(values.iter().copied());
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::MiddleRight)
                .draw()?;
        }
        root.present()
    }
}

enum Format {
    Png,
    Svg,
}

fn plot_format(path: &Path) -> Result<Format, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        _ => Err(format!(
            "--plot {}: the file name must end in .png or .svg",
            path.display()
        )),
    }
}

/// plotters lays text out with a TrueType font it is given (no native
/// font libraries): the first of the usual system fonts that exists, or
/// `$PLOT_FONT`.
fn register_system_font() -> Result<(), String> {
    const CANDIDATES: [&str; 6] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "C:\\Windows\\Fonts\\arial.ttf",
    ];
    let env = std::env::var("PLOT_FONT").ok();
    let path = env
        .iter()
        .map(String::as_str)
        .chain(CANDIDATES)
        .find(|p| Path::new(p).is_file())
        .ok_or("--plot needs a TrueType font: install DejaVu Sans (fonts-dejavu-core) or set PLOT_FONT=/path/to/font.ttf")?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read font {path}: {e}"))?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| format!("{path} is not a usable TrueType font"))
}
