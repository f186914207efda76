fn main() {
    println!("kerafold");
}
