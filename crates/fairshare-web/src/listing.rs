//! Console lists, one way for all of them: a search box, columns sorted by a click,
//! pages of fifty and the same rows as CSV. A page describes its columns once
//! ([`ListSpec`]) and hands over its rows as [`Cell`]s; [`show`] applies the reviewer's
//! query. Lists too long to hold (the audit log, members) are searched and paged by
//! the store and shown with [`Listing::of_page`].

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;

use crate::auth::encode;

/// Rows on one page of a list.
pub const PAGE_SIZE: usize = 50;

/// What the reviewer asked of a list: `?q=&sort=&order=asc|desc&page=&format=csv`.
/// Every field is lenient: an unknown column or a page out of range shows the default.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub format: String,
}

impl ListQuery {
    /// The search text, trimmed.
    pub fn search(&self) -> &str {
        self.q.trim()
    }

    /// Whether the rows are wanted as CSV rather than a page.
    pub fn wants_csv(&self) -> bool {
        self.format.eq_ignore_ascii_case("csv")
    }

    /// The page asked for, counted from 1.
    pub fn page(&self) -> usize {
        self.page.trim().parse().unwrap_or(1).max(1)
    }

    /// The rows a store reads for this query (offset, limit): the page's, or up to
    /// `export` rows from the first for a download.
    pub fn rows(&self, export: i64) -> (i64, i64) {
        let size = PAGE_SIZE as i64;
        if self.wants_csv() {
            (0, export)
        } else {
            ((self.page() as i64 - 1).saturating_mul(size), size)
        }
    }
}

/// A column of a list: the key used in `?sort=`, its heading, and whether it sorts as
/// a number.
pub struct Column {
    pub key: &'static str,
    pub label: &'static str,
    pub numeric: bool,
    /// Whether its heading sorts the list (a store may not sort every column).
    pub sortable: bool,
}

/// A column, for a [`ListSpec`]'s fixed table.
pub const fn column(key: &'static str, label: &'static str, numeric: bool) -> Column {
    Column {
        key,
        label,
        numeric,
        sortable: true,
    }
}

/// A column whose heading does not sort the list.
pub const fn unsorted(key: &'static str, label: &'static str) -> Column {
    Column {
        key,
        label,
        numeric: false,
        sortable: false,
    }
}

/// A list's fixed description.
pub struct ListSpec {
    /// Where the list lives (`/admin/organisations`), for its links.
    pub path: &'static str,
    /// What the rows are, for the table's label and the CSV file's name.
    pub label: &'static str,
    pub columns: &'static [Column],
    /// The column sorted by when none is asked for, and whether it starts descending.
    pub default_sort: (&'static str, bool),
}

/// One cell: its text, where it links, and what it sorts by.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    sort: SortKey,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(Decimal),
    Text(String),
}

impl Cell {
    /// Text, sorted without regard to case.
    pub fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        Cell {
            sort: SortKey::Text(text.to_lowercase()),
            text,
            href: None,
        }
    }

    /// A number shown as `shown`, sorted by `value`.
    pub fn number(value: impl Into<Decimal>, shown: impl Into<String>) -> Cell {
        Cell {
            sort: SortKey::Number(value.into()),
            text: shown.into(),
            href: None,
        }
    }

    /// The same cell as a link.
    pub fn link(mut self, href: impl Into<String>) -> Cell {
        self.href = Some(href.into());
        self
    }
}

/// A column's heading as shown: the link that sorts by it, and its `aria-sort`.
pub struct Heading {
    pub label: &'static str,
    /// The link that sorts by it (none: it does not sort).
    pub href: Option<String>,
    pub aria_sort: &'static str,
    pub numeric: bool,
}

/// One page of a list, ready for `listing.html`.
pub struct Listing {
    pub label: &'static str,
    pub path: &'static str,
    pub headings: Vec<Heading>,
    pub rows: Vec<Vec<Cell>>,
    pub q: String,
    /// The query's sort and order, kept by the search form.
    pub sort: String,
    pub order: &'static str,
    /// Filters of the page's own besides the search (the audit log's), kept by every link.
    pub hidden: Vec<(String, String)>,
    /// Whether the list shows its own search box (a page with its own filter form
    /// turns it off).
    pub search_form: bool,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub csv: String,
}

/// What a list answers: a page, or its rows as CSV.
pub enum Shown {
    Page(Listing),
    Csv(Response),
}

/// Rows searched, sorted and paged as `query` asks (every row held: lists of at most
/// some tens of thousands, like the organisations).
pub fn show(spec: &ListSpec, mut rows: Vec<Vec<Cell>>, query: &ListQuery) -> Shown {
    let needle = query.search().to_lowercase();
    if !needle.is_empty() {
        rows.retain(|row| row.iter().any(|c| c.text.to_lowercase().contains(&needle)));
    }
    let (column, descending) = sort_of(spec, query);
    rows.sort_by(|a, b| {
        let ordering = a[column].sort.cmp(&b[column].sort);
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    if query.wants_csv() {
        return Shown::Csv(csv(spec, &rows));
    }
    let total = rows.len();
    let page = query.page().min(total.div_ceil(PAGE_SIZE).max(1));
    let shown: Vec<_> = rows
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Shown::Page(Listing::of_page(spec, shown, total, query, Vec::new()))
}

/// The column index and direction `query` sorts by.
fn sort_of(spec: &ListSpec, query: &ListQuery) -> (usize, bool) {
    let asked = spec
        .columns
        .iter()
        .position(|c| c.sortable && c.key == query.sort);
    let column = asked
        .or_else(|| {
            spec.columns
                .iter()
                .position(|c| c.key == spec.default_sort.0)
        })
        .unwrap_or(0);
    let descending = match query.order.as_str() {
        "desc" => true,
        "asc" => false,
        _ if asked.is_none() => spec.default_sort.1,
        _ => spec.columns[column].numeric,
    };
    (column, descending)
}

impl Listing {
    /// A page of rows the caller already searched, sorted and paged (`total` rows in
    /// all); `hidden` are the caller's own filters, kept by every link.
    pub fn of_page(
        spec: &ListSpec,
        rows: Vec<Vec<Cell>>,
        total: usize,
        query: &ListQuery,
        hidden: Vec<(String, String)>,
    ) -> Listing {
        let (column, descending) = sort_of(spec, query);
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = query.page().min(pages);
        let order = if descending { "desc" } else { "asc" };
        let sort = spec.columns[column].key;
        let link = |sort: &str, order: &str, page: usize, format: &str| {
            let mut params: Vec<(&str, &str)> = hidden
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let page = page.to_string();
            params.extend([("q", query.search()), ("sort", sort), ("order", order)]);
            if page != "1" {
                params.push(("page", &page));
            }
            if !format.is_empty() {
                params.push(("format", format));
            }
            let query: Vec<String> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            format!("{}?{}", spec.path, query.join("&"))
        };
        let headings = spec
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (aria_sort, next_order) = match (i == column, descending) {
                    (true, true) => ("descending", "asc"),
                    (true, false) => ("ascending", "desc"),
                    (false, _) if c.numeric => ("none", "desc"),
                    (false, _) => ("none", "asc"),
                };
                Heading {
                    label: c.label,
                    href: c.sortable.then(|| link(c.key, next_order, 1, "")),
                    aria_sort,
                    numeric: c.numeric,
                }
            })
            .collect();
        Listing {
            label: spec.label,
            path: spec.path,
            headings,
            rows,
            q: query.search().to_string(),
            sort: sort.to_string(),
            order,
            previous: (page > 1).then(|| link(sort, order, page - 1, "")),
            next: (page < pages).then(|| link(sort, order, page + 1, "")),
            csv: link(sort, order, 1, "csv"),
            hidden,
            search_form: true,
            total,
            page,
            pages,
        }
    }
}

/// The rows as a CSV download, headed by the columns' labels.
pub fn csv(spec: &ListSpec, rows: &[Vec<Cell>]) -> Response {
    let mut out = csv::Writer::from_writer(Vec::new());
    let written = out
        .write_record(spec.columns.iter().map(|c| c.label))
        .and_then(|()| {
            rows.iter()
                .try_for_each(|row| out.write_record(row.iter().map(spreadsheet_safe)))
        });
    let body = match (written, out.into_inner()) {
        (Ok(()), Ok(body)) => body,
        _ => return crate::error::AppError::Internal("writing CSV".into()).into_response(),
    };
    let file = spec.label.to_lowercase().replace(' ', "-");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A cell's text as a spreadsheet should take it: text that a spreadsheet would run
/// as a formula (`=`, `+`, `-`, `@` first; names come from applicants) is quoted with
/// a leading apostrophe. Numbers stay numbers.
fn spreadsheet_safe(cell: &Cell) -> String {
    let text = cell.text.as_str();
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && !matches!(cell.sort, SortKey::Number(_)) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ListSpec = ListSpec {
        path: "/admin/things",
        label: "Things",
        columns: &[
            column("name", "Name", false),
            column("score", "Score", true),
            unsorted("note", "Note"),
        ],
        default_sort: ("name", false),
    };

    fn rows(n: usize) -> Vec<Vec<Cell>> {
        (0..n)
            .map(|i| {
                vec![
                    Cell::text(format!("Thing {i:03}")),
                    Cell::number(Decimal::from(i % 7), (i % 7).to_string()),
                    Cell::text(format!("note {}", 120 - i)),
                ]
            })
            .collect()
    }

    fn page(query: &str) -> Listing {
        let query: ListQuery = serde_urlencoded::from_str(query).unwrap();
        match show(&SPEC, rows(120), &query) {
            Shown::Page(listing) => listing,
            Shown::Csv(_) => panic!("a page was asked for"),
        }
    }

    #[test]
    fn a_long_list_is_shown_fifty_rows_a_page_with_links_either_way() {
        let second = page("page=2");
        assert_eq!((second.page, second.pages, second.total), (2, 3, 120));
        assert_eq!(second.rows[0][0].text, "Thing 050");
        assert!(second.previous.is_some() && second.next.is_some());
        assert_eq!(
            page("page=99").page,
            3,
            "a page past the end shows the last"
        );
    }

    #[test]
    fn the_search_keeps_rows_with_the_text_in_any_column_ignoring_case() {
        let found = page("q=thing%2001");
        assert_eq!(found.total, 10, "Thing 010..019 and Thing 001");
    }

    #[test]
    fn numbers_sort_as_numbers_and_the_heading_says_which_way() {
        let by_score = page("sort=score&order=desc");
        assert_eq!(by_score.rows[0][1].text, "6");
        assert_eq!(by_score.headings[1].aria_sort, "descending");
        assert!(
            by_score.headings[1]
                .href
                .as_ref()
                .unwrap()
                .contains("order=asc")
        );
        assert_eq!(by_score.headings[0].aria_sort, "none");
    }

    #[test]
    fn a_column_that_does_not_sort_has_no_link_and_is_never_sorted_by() {
        let listing = page("sort=note");
        assert!(listing.headings[2].href.is_none());
        assert_eq!(listing.sort, "name", "the default order stands");
        assert_eq!(listing.rows[0][0].text, "Thing 000");
    }

    #[test]
    fn text_a_spreadsheet_would_run_is_quoted_but_negative_numbers_are_not() {
        assert_eq!(
            spreadsheet_safe(&Cell::text("=HYPERLINK(1)")),
            "'=HYPERLINK(1)"
        );
        assert_eq!(
            spreadsheet_safe(&Cell::number(Decimal::from(-2), "-2")),
            "-2"
        );
    }

    #[test]
    fn links_keep_the_search_and_an_unknown_column_falls_back_to_the_default() {
        let listing = page("q=Thing&sort=nonsense");
        assert_eq!(listing.sort, "name");
        assert!(listing.next.unwrap().contains("q=Thing"));
        assert!(listing.csv.ends_with("format=csv"));
    }
}
