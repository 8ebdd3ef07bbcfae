//! The `optsurf` command line: the library's CLI with the built-in surfaces and optimizers.

fn main() -> std::process::ExitCode {
    optsurf::cli::main(optsurf::Registry::builtin())
}
