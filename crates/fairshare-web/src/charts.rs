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
/// and last points.
pub fn line(title: &str, points: &[(String, i64)]) -> String {
    let (width, height, left, bottom, top) = (640i64, 220i64, 50i64, 30i64, 12i64);
    let plot_w = width - left - 12;
    let plot_h = height - bottom - top;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let x = |i: usize| {
        if points.len() <= 1 {
            left + plot_w / 2
        } else {
            left + (i as i64 * plot_w) / (points.len() as i64 - 1)
        }
    };
    let y = |v: i64| top + plot_h - (v as f64 / max as f64 * plot_h as f64).round() as i64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart line" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>"#,
        id = slug(title),
        title = escape(title),
        desc = escape(&describe(points)),
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/><text class="tick" x="{tx}" y="{ty}" text-anchor="end">{max}</text><text class="tick" x="{tx}" y="{base}" text-anchor="end">0</text>"#,
        base = top + plot_h,
        right = width - 12,
        tx = left - 6,
        ty = top + 10,
        max = fairshare_engine::money::grouped(max.into()),
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{},{}", x(i), y(*v)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="series" fill="none" points="{}"/>"#,
        path.join(" ")
    );
    for (i, (label, value)) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<circle class="point" cx="{}" cy="{}" r="3.5"><title>{}: {}</title></circle>"#,
            x(i),
            y(*value),
            escape(label),
            value
        );
    }
    let mut labelled = vec![0, points.len() / 2, points.len().saturating_sub(1)];
    labelled.dedup();
    for i in labelled.into_iter().filter(|i| *i < points.len()) {
        // The first and last labels align to their ends so they stay inside the chart.
        let anchor = match i {
            0 if points.len() > 1 => "start",
            i if i + 1 == points.len() && i > 0 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r#"<text class="tick" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x(i),
            height - 8,
            escape(&points[i].0)
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
        assert!(svg.contains(r#"points="50,190 339,12 628,101""#), "{svg}");
        assert!(line("Empty", &[]).contains("No data."));
    }
}
