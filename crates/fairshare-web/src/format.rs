//! How amounts and dates read on pages.

use rust_decimal::Decimal;

/// `1234567.5` → `1,234,567.5`.
pub fn grouped(amount: Decimal) -> String {
    let text = amount.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut out = String::with_capacity(text.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    match fraction {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// Two decimals, grouped: money in USD or EUR.
pub fn cents(amount: Decimal) -> String {
    let mut rounded = amount.round_dp(2);
    rounded.rescale(2);
    grouped(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(grouped(d("600707")), "600,707");
        assert_eq!(grouped(d("100")), "100");
        assert_eq!(grouped(d("-1234.5")), "-1,234.5");
        assert_eq!(cents(d("45.7")), "45.70");
        assert_eq!(cents(d("1234")), "1,234.00");
    }
}
