//! The `sharecast` command line: parse flags, run a command, report errors.

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    clean_up_on_signals();
    let result = match cli.command {
        cli::Command::Check { model, set } => commands::check(model.as_deref(), &set),
        cli::Command::Run(args) => commands::run(&args),
        cli::Command::Sobol(args) => commands::sobol(&args),
        cli::Command::Sweep(args) => commands::sweep(&args),
        cli::Command::Merge(args) => commands::merge(&args),
        cli::Command::Report { dir, chart_size } => commands::report(&dir, chart_size),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`sharecast check | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP, removes this process's temporary output
/// folders, then dies of the signal as it would have (exit status 130,
/// 143, 129 in a shell): an interrupted run leaves nothing that looks
/// finished, and nothing half-written.
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            sharecast::output::abort_staging();
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            std::process::exit(128 + sig);
        }
    });
}
