//! Closing the livre de recettes, for the tests that need a closed period.

use chrono::NaiveDate;

use super::super::TestDb;
use super::raw_execute;

/// Closes the livre de recettes through `day`: from then on no receipt may be
/// dated on or before it. For now a `book_closures` row written with plain
/// SQL (a day's closure, its seal fields filled with placeholders); the one
/// place to swap for the real closing function.
pub async fn close_book_through(db: &TestDb, day: NaiveDate) {
    let sql = format!(
        "INSERT INTO book_closures (number, kind, period_start, period_end, book_seq, book_hash, line_count,
             totals, prev_hash, hash, signature, public_key, closed_at)
         SELECT COALESCE(MAX(number), 0) + 1, 'day', '{day}', '{day}', 0, 'test', 0,
             '{{}}', 'test', 'test', 'test', 'test', '{day}T23:59:59Z' FROM book_closures"
    );
    raw_execute(db, &sql).await.expect("the closure is written");
}
