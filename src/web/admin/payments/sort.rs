//! A sortable list's order, read from its query string: a column of the
//! list's closed set (`sort`), a direction (`dir`: `asc` or `desc`) and,
//! once sorted, a page (`page`, from 1). The columns are the domain's
//! enums, each with its own SQL: nothing typed reaches a query.

use super::super::{AdminError, PAGE_SIZE};
use crate::text;

/// How a list is asked to be ordered.
pub(in crate::web::admin) struct Order<C> {
    /// None: the list's own order (newest first), paged by `before`.
    pub column: Option<C>,
    pub descending: bool,
    /// From 1; only with a column.
    pub page: i64,
}

impl<C: Copy> Order<C> {
    /// The rows to skip for the page.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(PAGE_SIZE)
    }

    pub fn dir(&self) -> &'static str {
        if self.descending {
            "desc"
        } else {
            "asc"
        }
    }
}

/// The order asked by `sort`, `dir` and `page`, or the reason it is refused.
pub(in crate::web::admin) fn order<C: Copy>(
    sort: &str,
    dir: &str,
    page: Option<i64>,
    parse: impl Fn(&str) -> Option<C>,
) -> Result<Order<C>, AdminError> {
    let column = match sort.trim() {
        "" => None,
        s => Some(
            parse(s).ok_or_else(|| AdminError::Invalid(text!("Tri inconnu : « {value} »", value = s.to_string())))?,
        ),
    };
    let descending = match dir.trim() {
        "" | "asc" => false,
        "desc" => true,
        d => {
            return Err(AdminError::Invalid(text!(
                "Sens de tri inconnu : « {value} » (asc ou desc)",
                value = d.to_string()
            )))
        }
    };
    let page = page.unwrap_or(1);
    if page < 1 {
        return Err(AdminError::Invalid(text!("Page inconnue : « {value} »", value = page)));
    }
    Ok(Order {
        column,
        descending,
        page,
    })
}
