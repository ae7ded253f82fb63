fn main() {
    println!("fwcheck");
}
