//! The texts the input policy refuses in a one-line field, shared by the
//! domain's, the admin's and the API's input tests.

/// `(name, text, whether a multi-line field such as an address takes it)`.
pub const CONTROL_TEXTS: [(&str, &str, bool); 5] = [
    ("NUL", "Zoé\u{0}Roux", false),
    ("CR", "Zoé\rRoux", true),
    ("LF", "Zoé\nRoux", true),
    ("ESC", "Zoé\u{1b}[2JRoux", false),
    ("RLO", "Zoé \u{202E}xuoR", false),
];
