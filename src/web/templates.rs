//! The page templates (minijinja, compiled into the binary from `templates/`,
//! HTML auto-escaped) and the filters they share.

use chrono::{DateTime, Utc};
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

use crate::money::{Currency, Money};

/// `("admin/jobs/list.html", <its text>)`, the text compiled in.
#[macro_export]
macro_rules! template {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $name)),
        )
    };
}

pub(super) fn environment() -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in super::admin::templates() {
        env.add_template(name, source)?;
    }
    env.add_filter("money", money);
    env.add_filter("money_number", money_number);
    env.add_filter("dt", datetime);
    env.add_filter("date", date);
    env.add_filter("pretty_json", pretty_json);
    crate::i18n::register(&mut env);
    Ok(env)
}

/// `{{ amount|money }}` for a serialized `Money` (`{minor, currency}`), or
/// `{{ minor|money("EUR") }}`: `1 234,56 €`.
fn money(value: Value, currency: Option<String>) -> Result<String, Error> {
    Ok(money_of(value, currency)?.format_fr())
}

/// `{{ amount|money_number }}`: the number alone as it is typed in a form, `1234,56`.
fn money_number(value: Value, currency: Option<String>) -> Result<String, Error> {
    Ok(money_of(value, currency)?.format_number_fr(false))
}

fn money_of(value: Value, currency: Option<String>) -> Result<Money, Error> {
    let bad = |what: &str| Error::new(ErrorKind::InvalidOperation, format!("money: {what}"));
    let (minor, code) = match currency {
        Some(code) => (value, code),
        None => (
            value.get_attr("minor")?,
            value
                .get_attr("currency")?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("no currency"))?,
        ),
    };
    let minor = i64::try_from(minor).map_err(|_| bad("amount is not an integer"))?;
    let currency: Currency = code.parse().map_err(|_| bad("unknown currency"))?;
    Ok(Money::new(minor, currency))
}

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// `01/12/2026 09:30:00` in the operator's time zone from a serialized
/// `DateTime<Utc>`; empty for none.
fn datetime(value: Value) -> String {
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    match parse_time(&value) {
        Some(t) => crate::local_time::format_fr(t),
        None => value.to_string(),
    }
}

/// `01/12/2026` from a date or a date-time.
fn date(value: Value) -> String {
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    if let Some(t) = parse_time(&value) {
        return t
            .with_timezone(&crate::local_time::zone())
            .format("%d/%m/%Y")
            .to_string();
    }
    match value
        .as_str()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        Some(d) => d.format("%d/%m/%Y").to_string(),
        None => value.to_string(),
    }
}

fn pretty_json(value: Value) -> Result<String, Error> {
    serde_json::to_string_pretty(&value).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let env = environment().expect("templates compile");
        let render = |src: &str, ctx: Value| env.render_str(src, ctx).unwrap();
        let m = Value::from_serialize(Money::new(123_456, Currency::EUR));
        assert_eq!(
            render("{{ m|money }}", minijinja::context! { m => m }),
            "1\u{a0}234,56\u{a0}€"
        );
        assert_eq!(render("{{ 990|money('EUR') }}", minijinja::context! {}), "9,90\u{a0}€");
        assert_eq!(
            render("{{ t|dt }}", minijinja::context! { t => "2026-12-01T08:30:00.5Z" }),
            "01/12/2026 09:30:00",
            "in Paris"
        );
        assert_eq!(
            render("{{ t|date }}", minijinja::context! { t => "2026-12-01" }),
            "01/12/2026"
        );
        assert_eq!(render("{{ t|dt }}", minijinja::context! { t => () }), "");
    }
}
