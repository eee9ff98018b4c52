use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use authtui::cli::{self, Cli};

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Some(command) => cli::run(args.data_file.as_deref(), args.cost, command),
        None => {
            // The full-screen app comes with the TUI; until then, say what there is.
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
}
