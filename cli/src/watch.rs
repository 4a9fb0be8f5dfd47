//! `bgcopy monitor` and `bgcopy serve`.

use crate::bg::{self, Guid, Manager};
use crate::get::Signals;
use crate::output;
use crate::{find_job, open_manager, Global, Outcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

/// What one look at a job shows; a line is printed when it changes.
#[derive(Clone, PartialEq)]
struct Snapshot {
    state: i32,
    progress: bg::Progress,
    name: String,
}

fn settled(state: i32) -> bool {
    matches!(
        state,
        bg::STATE_TRANSFERRED | bg::STATE_ERROR | bg::STATE_ACKNOWLEDGED | bg::STATE_CANCELLED
    )
}

/// The jobs to look at: one (which may end meanwhile) or all.
fn snapshot(m: &Manager, only: Option<Guid>) -> bg::Result<Vec<(Guid, Snapshot, Option<bg::Job>)>> {
    let jobs = match only {
        Some(id) => match m.get_job(id) {
            Ok(j) => vec![j],
            Err(e) if e.code == bgcopy::hresult::BG_E_NOT_FOUND => vec![],
            Err(e) => return Err(e),
        },
        None => m.jobs()?,
    };
    let mut out = Vec::new();
    for job in jobs {
        let snap = Snapshot {
            state: job.state()?,
            progress: job.progress()?,
            name: job.display_name()?,
        };
        out.push((job.id(), snap, Some(job)));
    }
    Ok(out)
}

enum View {
    Bars {
        multi: MultiProgress,
        bars: HashMap<Guid, ProgressBar>,
    },
    Lines,
    Json,
}

impl View {
    fn new(g: &Global) -> View {
        if g.json {
            View::Json
        } else if std::io::stdout().is_terminal() {
            View::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
                bars: HashMap::new(),
            }
        } else {
            View::Lines
        }
    }

    fn show(&mut self, id: Guid, snap: &Snapshot, job: Option<&bg::Job>) -> bg::Result<()> {
        match self {
            View::Json => {
                if let Some(j) = job {
                    output::print_json(&serde_json::json!({ "job": output::job_json(j)? }));
                }
            }
            View::Lines => println!(
                "{id}  {:<15} {}  {}",
                bg::state_name(snap.state),
                output::progress_text(&snap.progress),
                snap.name
            ),
            View::Bars { multi, bars } => {
                let bar = bars.entry(id).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new(0));
                    b.set_style(
                        ProgressStyle::with_template(
                            "{prefix:.bold} {msg:<15} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
                        )
                        .expect("template")
                        .progress_chars("=> "),
                    );
                    b.set_prefix(id.to_string()[..8].to_string());
                    b
                });
                bar.set_length(snap.progress.bytes_total.unwrap_or(0));
                bar.set_position(snap.progress.bytes_transferred);
                bar.set_message(format!("{} {}", bg::state_name(snap.state), snap.name));
            }
        }
        Ok(())
    }

    fn gone(&mut self, id: Guid) {
        match self {
            View::Bars { multi, bars } => {
                if let Some(b) = bars.remove(&id) {
                    b.finish();
                    multi.remove(&b);
                }
            }
            View::Lines => println!("{id}  ended"),
            View::Json => output::print_json(&serde_json::json!({ "ended": id.to_string() })),
        }
    }
}

pub fn monitor(
    g: &Global,
    guid: Option<&str>,
    interval_ms: u64,
    until_done: bool,
) -> bg::Result<Outcome> {
    let signals = Signals::install();
    let m = open_manager(g)?;
    let only = match guid {
        Some(text) => Some(find_job(&m, text)?.id()),
        None => None,
    };
    let mut view = View::new(g);
    let mut last: HashMap<Guid, Snapshot> = HashMap::new();
    let interval = Duration::from_millis(interval_ms.max(10));
    loop {
        let now = snapshot(&m, only)?;
        let mut seen = HashMap::new();
        for (id, snap, job) in &now {
            if last.get(id) != Some(snap) {
                view.show(*id, snap, job.as_ref())?;
            }
            seen.insert(*id, snap.clone());
        }
        for id in last.keys() {
            if !seen.contains_key(id) {
                view.gone(*id);
            }
        }
        last = seen;
        if until_done && now.iter().all(|(_, s, _)| settled(s.state)) {
            return Ok(Outcome::Ok);
        }
        if signals.received().is_some() {
            return Ok(Outcome::Ok);
        }
        std::thread::sleep(interval);
        if signals.received().is_some() {
            return Ok(Outcome::Ok);
        }
    }
}

pub fn serve(g: &Global, verbose: bool) -> bg::Result<Outcome> {
    let signals = Signals::install();
    let m = open_manager(g)?;
    let where_ = crate::state_dir(g).unwrap_or_else(|| "the per-user state directory".into());
    if g.json {
        output::print_json(
            &serde_json::json!({ "event": "serving", "state_dir": crate::state_dir(g) }),
        );
    } else {
        println!("bgcopy serve: transferring the jobs of {where_} until SIGTERM or SIGINT");
    }
    let mut last: HashMap<Guid, i32> = HashMap::new();
    while signals.received().is_none() {
        if verbose {
            let mut seen = HashMap::new();
            for (id, snap, _) in snapshot(&m, None)? {
                if last.get(&id) != Some(&snap.state) {
                    if g.json {
                        output::print_json(&serde_json::json!({
                            "event": "state", "id": id.to_string(), "state": bg::state_name(snap.state),
                        }));
                    } else {
                        println!("{id}  {:<15} {}", bg::state_name(snap.state), snap.name);
                    }
                }
                seen.insert(id, snap.state);
            }
            last = seen;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(m); // stops the transfers cleanly
    if g.json {
        output::print_json(&serde_json::json!({ "event": "stopped" }));
    } else {
        println!("bgcopy serve: stopped");
    }
    Ok(Outcome::Ok)
}
