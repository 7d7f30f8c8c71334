//! The one-call API from an adopter's side: who holds a port, who uses a
//! directory, and whether the listener descends from a given process.
//!
//!     cargo run --example one_call -- PORT DIR [EXPECTED_PID]

fn main() -> Result<(), limier::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(port), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: one_call PORT DIR [EXPECTED_PID]");
        std::process::exit(2);
    };
    let port: limier::input::PortSpec = port.parse()?;
    let expected: u32 = match args.get(2) {
        Some(pid) => u32::from(pid.parse::<limier::input::PidSpec>()?.0),
        None => 0,
    };
    println!(
        "listeners({}) = {:?}",
        port.port,
        limier::listeners(u16::from(port.port))?
    );
    println!(
        "port_owner({expected}, {}) = {}",
        port.port,
        limier::port_owner(expected, u16::from(port.port))?
    );
    println!("dir_users({dir}) = {:?}", limier::dir_users(dir.as_ref())?);
    Ok(())
}
