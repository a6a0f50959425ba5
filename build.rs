//! The migrations are built into the binary (`sqlx::migrate!`): adding or changing one
//! must rebuild it, which Cargo does not know without being told.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
