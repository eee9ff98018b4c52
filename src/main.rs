use std::process::ExitCode;

use clap::Parser;

use authtui::auth::Service;
use authtui::cli::{self, Cli};
use authtui::store::JsonFile;

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Some(command) => cli::run(args.data_file.as_deref(), args.cost, command),
        None => {
            let path = match cli::data_path(args.data_file.as_deref()) {
                Ok(path) => path,
                Err(failure) => return cli::report(failure),
            };
            match authtui::tui::run(Service::new(JsonFile::new(path), args.cost)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("authtui: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
