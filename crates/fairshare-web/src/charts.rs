//! Charts drawn on the server as inline SVG: horizontal bars (a breakdown) and a line
//! over time (a trend). Each chart is an `<svg role="img">` with a title and a text
//! description, and the pages print the numbers beside it in a table, so nothing is
//! only visible in the drawing. No script, no web fonts: the page's CSS colours them.
//!
//! Why not plotters: laying out text needs a font stack (font-kit or ab_glyph plus a
//! font file); these two chart kinds are a few rectangles and a polyline.

use std::fmt::Write as _;

/// Escapes text for SVG/HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Horizontal bars, one per `(label, value)`, longest bar = largest value.
pub fn bars(title: &str, rows: &[(String, i64)]) -> String {
    let row_height = 26;
    let label_width = 170;
    let bar_width = 380;
    let width = label_width + bar_width + 70;
    let height = (rows.len().max(1) * row_height + 10) as i64;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart bars" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>"#,
        id = slug(title),
        title = escape(title),
        desc = escape(&describe(rows)),
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i as i64 * row_height as i64 + 5;
        let length = (*value as f64 / max as f64 * bar_width as f64).round() as i64;
        let _ = write!(
            svg,
            r#"<text class="label" x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect class="bar" x="{label_width}" y="{y}" width="{w}" height="{h}" rx="3"/><text class="value" x="{vx}" y="{ty}">{value}</text>"#,
            lx = label_width - 8,
            ty = y + 15,
            label = escape(&shorten(label, 24)),
            w = length.max(1),
            h = row_height - 8,
            vx = label_width as i64 + length.max(1) + 6,
            value = fairshare_engine::money::grouped((*value).into()),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line through `(label, value)` points in order, labels under the first, middle
/// and last points, with a y-axis from 0 and gridlines at round values.
pub fn line(title: &str, points: &[(String, i64)]) -> String {
    let labels: Vec<String> = points.iter().map(|p| p.0.clone()).collect();
    let values: Vec<Option<i64>> = points.iter().map(|p| Some(p.1)).collect();
    plot(title, &labels, &values, Axis::Count)
}

/// Places in a ranking over time: 1 at the top, months without a place left open.
pub fn rank_line(title: &str, months: &[String], ranks: &[Option<i64>]) -> String {
    plot(title, months, ranks, Axis::Rank)
}

#[derive(Clone, Copy, PartialEq)]
enum Axis {
    /// 0 at the bottom, more is higher.
    Count,
    /// 1 at the top, lower places further down.
    Rank,
}

/// Up to five round tick values covering `0..=max` (1, 2 or 5 times a power of ten).
fn ticks(max: i64) -> Vec<i64> {
    let max = max.max(1);
    let mut step = 1i64;
    loop {
        for factor in [1, 2, 5] {
            let candidate = step * factor;
            if max / candidate <= 4 {
                let top = (max + candidate - 1) / candidate * candidate;
                return (0..=top / candidate).map(|i| i * candidate).collect();
            }
        }
        step *= 10;
    }
}

fn plot(title: &str, labels: &[String], values: &[Option<i64>], axis: Axis) -> String {
    let (width, height, left, bottom, top) = (640i64, 220i64, 56i64, 30i64, 12i64);
    let plot_w = width - left - 12;
    let plot_h = height - bottom - top;
    let largest = values.iter().flatten().copied().max().unwrap_or(0);
    let grid = ticks(largest);
    let top_value = *grid.last().unwrap_or(&1);
    let x = |i: usize| {
        if labels.len() <= 1 {
            left + plot_w / 2
        } else {
            left + (i as i64 * plot_w) / (labels.len() as i64 - 1)
        }
    };
    let y = |v: i64| match axis {
        Axis::Count => top + plot_h - (v as f64 / top_value as f64 * plot_h as f64).round() as i64,
        // Place 1 at the top edge, `top_value` at the bottom.
        Axis::Rank => {
            let span = (top_value - 1).max(1) as f64;
            top + ((v - 1).max(0) as f64 / span * plot_h as f64).round() as i64
        }
    };
    let points: Vec<(String, i64)> = labels
        .iter()
        .zip(values)
        .filter_map(|(l, v)| v.map(|v| (l.clone(), v)))
        .collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart line" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>"#,
        id = slug(title),
        title = escape(title),
        desc = escape(&describe(&points)),
    );
    let tick_values: Vec<i64> = match axis {
        Axis::Count => grid,
        // Place 1 always; 0 is no place.
        Axis::Rank => grid.into_iter().map(|t| t.max(1)).collect(),
    };
    let mut drawn = Vec::new();
    for value in tick_values {
        if drawn.contains(&value) {
            continue;
        }
        drawn.push(value);
        let at = y(value);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" y1="{at}" x2="{right}" y2="{at}"/><text class="tick" x="{tx}" y="{ty}" text-anchor="end">{label}</text>"#,
            right = width - 12,
            tx = left - 6,
            ty = at + 4,
            label = fairshare_engine::money::grouped(value.into()),
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>"#,
        base = top + plot_h,
        right = width - 12,
    );
    // One polyline per run of consecutive values: a month without one breaks the line.
    let mut run: Vec<String> = Vec::new();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(v) => run.push(format!("{},{}", x(i), y(*v))),
            None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    for run in runs {
        let _ = write!(
            svg,
            r#"<polyline class="series" fill="none" points="{}"/>"#,
            run.join(" ")
        );
    }
    for (i, (label, value)) in labels.iter().zip(values).enumerate() {
        let Some(value) = value else { continue };
        let _ = write!(
            svg,
            r#"<circle class="point" cx="{}" cy="{}" r="3.5"><title>{}: {}</title></circle>"#,
            x(i),
            y(*value),
            escape(label),
            value
        );
    }
    let mut labelled = vec![0, labels.len() / 2, labels.len().saturating_sub(1)];
    labelled.dedup();
    for i in labelled.into_iter().filter(|i| *i < labels.len()) {
        // The first and last labels align to their ends so they stay inside the chart.
        let anchor = match i {
            0 if labels.len() > 1 => "start",
            i if i + 1 == labels.len() && i > 0 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r#"<text class="tick" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x(i),
            height - 8,
            escape(&labels[i])
        );
    }
    svg.push_str("</svg>");
    svg
}

fn describe(rows: &[(String, i64)]) -> String {
    if rows.is_empty() {
        return "No data.".into();
    }
    rows.iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn shorten(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        text.to_string()
    } else {
        let cut: String = text.chars().take(most - 1).collect();
        format!("{cut}…")
    }
}

fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("c-{s}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg = bars(
            "By kind",
            &[("commit".into(), 200), ("<review>".into(), 100)],
        );
        assert!(svg.contains(r#"width="380""#), "{svg}");
        assert!(svg.contains(r#"width="190""#), "{svg}");
        assert!(svg.contains("&lt;review&gt;"));
        assert!(svg.contains("<title id=\"c-by-kind-t\">By kind</title>"));
        assert!(svg.contains("commit: 200; &lt;review&gt;: 100"));
    }

    #[test]
    fn line_runs_through_every_point() {
        let svg = line(
            "Trend",
            &[("w1".into(), 0), ("w2".into(), 10), ("w3".into(), 5)],
        );
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains(r#"points="56,190 342,12 628,101""#), "{svg}");
        assert!(line("Empty", &[]).contains("No data."));
    }

    #[test]
    fn the_y_axis_has_round_ticks_with_gridlines() {
        assert_eq!(ticks(10), vec![0, 5, 10]);
        assert_eq!(ticks(37), vec![0, 10, 20, 30, 40]);
        assert_eq!(ticks(0), vec![0, 1]);
        let svg = line("Trend", &[("w1".into(), 3), ("w2".into(), 37)]);
        assert_eq!(svg.matches(r#"class="grid""#).count(), 5, "{svg}");
        assert!(
            svg.contains(">40</text>") && svg.contains(">20</text>"),
            "{svg}"
        );
    }

    #[test]
    fn a_rank_chart_puts_first_place_on_top_and_leaves_unranked_months_open() {
        let months: Vec<String> = ["m1", "m2", "m3", "m4"].map(String::from).to_vec();
        let svg = rank_line("Rank", &months, &[Some(1), Some(5), None, Some(3)]);
        // 1 at the top edge (y = 12); the axis runs to 6, so 5 sits 4/5 of the way down.
        assert!(svg.contains(r#"points="56,12 246,154""#), "{svg}");
        assert_eq!(
            svg.matches("<polyline").count(),
            2,
            "the gap breaks the line: {svg}"
        );
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
