//! Date filters: Liquid's `date`, Jekyll's `date_to_string`, `date_to_long_string`,
//! `date_to_xmlschema`, `date_to_rfc822`.

use super::{Call, Filter};
use minijinja::Value;

pub(super) const FILTERS: &[Filter] = &[
    Filter::any_args("date", keep),
    Filter::any_args("date_to_string", keep),
    Filter::any_args("date_to_long_string", keep),
    Filter::any_args("date_to_xmlschema", keep),
    Filter::any_args("date_to_rfc822", keep),
];

/// Dates are kept as written: a faithful strftime needs the page's timezone.
fn keep(_: &Call, input: &Value, _: &[Value]) -> Result<Value, String> {
    Ok(input.clone())
}
