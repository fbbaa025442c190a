//! Print the JSON form's OpenAPI document (`cargo xtask gen-openapi`
//! writes it to docs/openapi.json).

fn main() {
    print!("{}", qbxml::json::openapi());
}
