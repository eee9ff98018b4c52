//! The growth plot (`assets/growth.svg`): a login as a multiple of a bare bcrypt verify
//! (y, from 0, so that a ratio reads as a length) against the number of users (x, log
//! scale), one line per store, with the 1x baseline and the targets. Hand-written SVG, no
//! plotting crate.

use super::group;

/// One line of the plot.
pub struct Series {
    pub label: String,
    /// The points, by number of users: (N, login / bare bcrypt, login ms).
    pub points: Vec<(usize, f64, f64)>,
}

/// A target drawn as a dashed red line: across the whole plot (`at: None`; the legend
/// names it), or a short stretch at one size, labelled with `label`.
pub struct Target {
    pub ratio: f64,
    pub at: Option<usize>,
    pub label: String,
}

pub struct Plot {
    pub title: String,
    pub subtitle: String,
    /// The `<title>` and `<desc>` of the SVG, for screen readers and search.
    pub name: String,
    pub desc: String,
    pub x_title: String,
    /// What the subtitle says after the baseline (how many runs).
    pub legend_note: String,
    /// The bare bcrypt verify's median, ms: what 1x is.
    pub bcrypt_ms: f64,
    pub targets: Vec<Target>,
    /// The legend's word for the red dashed lines.
    pub target_legend: String,
    /// Under the plot, a line each (date and machine; load and command).
    pub footer: Vec<String>,
    pub series: Vec<Series>,
}

/// Colours and markers of the series, in order (the first is the old plot's blue).
const COLOURS: [&str; 4] = ["#1f5fa8", "#2a8a3e", "#b35900", "#7b3fa0"];
const RED: &str = "#c0392b";
/// A white outline behind text, so that labels stay readable where lines cross them.
const HALO: &str = r##"stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke""##;

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// "1k", "10k", "1M" for a power of ten.
fn short_count(n: f64) -> String {
    if n >= 1e6 {
        format!("{}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{}k", n / 1e3)
    } else {
        format!("{n}")
    }
}

/// A marker of series `i` at (x, y): circle, square, diamond, triangle.
fn marker(i: usize, x: f64, y: f64) -> String {
    let c = COLOURS[i % COLOURS.len()];
    match i % 4 {
        0 => format!(r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{c}"/>"##),
        1 => format!(
            r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{c}"/>"##,
            x - 4.0,
            y - 4.0
        ),
        2 => format!(
            r##"<polygon points="{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}" fill="{c}"/>"##,
            y - 5.5,
            x + 5.5,
            y + 5.5,
            x - 5.5
        ),
        _ => format!(
            r##"<polygon points="{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{c}"/>"##,
            y - 5.5,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
    }
}

/// The dash pattern of series `i`'s line, so that lines on top of each other still show.
fn dashes(i: usize) -> &'static str {
    match i % 4 {
        0 => "",
        1 => r#" stroke-dasharray="10 4""#,
        2 => r#" stroke-dasharray="3 3""#,
        _ => r#" stroke-dasharray="12 3 3 3""#,
    }
}

pub fn svg(plot: &Plot) -> String {
    const W: f64 = 760.0;
    const H: f64 = 470.0;
    let (left, right, top, bottom) = (78.0, W - 36.0, 82.0, H - 92.0);

    let all: Vec<(usize, f64, f64)> = plot
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();

    // x: whole decades around the sizes, a quarter decade of margin.
    let lo = all
        .iter()
        .map(|p| (p.0 as f64).log10())
        .fold(f64::INFINITY, f64::min)
        .floor();
    let hi = all
        .iter()
        .map(|p| (p.0 as f64).log10())
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil();
    let (x_lo, x_hi) = (lo - 0.25, hi.max(lo + 1.0) + 0.25);
    let sx = |n: f64| left + (n.log10() - x_lo) / (x_hi - x_lo) * (right - left);
    // y: from 0; room above the highest point and the targets.
    let top_ratio = all
        .iter()
        .map(|p| p.1)
        .chain(plot.targets.iter().map(|t| t.ratio))
        .fold(1.0, f64::max)
        * 1.15;
    let step = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
        .into_iter()
        .find(|s| top_ratio / s <= 8.0)
        .unwrap_or(50.0);
    let y_hi = (top_ratio / step).ceil() * step;
    let sy = |r: f64| bottom - r / y_hi * (bottom - top);

    let mut svg = String::new();
    let mut out = |line: String| {
        svg.push_str(&line);
        svg.push('\n');
    };
    out(format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">"#
    ));
    out(format!("<title>{}</title>", xml_escape(&plot.name)));
    out(format!("<desc>{}</desc>", xml_escape(&plot.desc)));
    out(format!(r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##));
    out(format!(
        r##"<text x="{left}" y="26" font-size="16" font-weight="bold" fill="#222">{}</text>"##,
        xml_escape(&plot.title)
    ));
    out(format!(
        r##"<text x="{left}" y="45" fill="#555">{} ({:.0} ms), {}</text>"##,
        xml_escape(&plot.subtitle),
        plot.bcrypt_ms,
        xml_escape(&plot.legend_note)
    ));

    // The legend, one row above the plot: a stretch of each line with its marker.
    let mut x = left;
    for (i, s) in plot.series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        out(format!(
            r##"<line x1="{x:.1}" y1="66" x2="{:.1}" y2="66" stroke="{c}" stroke-width="2.5"{}/>"##,
            x + 26.0,
            dashes(i)
        ));
        out(marker(i, x + 13.0, 66.0));
        out(format!(
            r##"<text x="{:.1}" y="70.5" fill="#222">{}</text>"##,
            x + 32.0,
            xml_escape(&s.label)
        ));
        x += 32.0 + 7.2 * s.label.chars().count() as f64 + 16.0;
    }
    out(format!(
        r##"<line x1="{x:.1}" y1="66" x2="{:.1}" y2="66" stroke="{RED}" stroke-width="1.5" stroke-dasharray="7 5"/>"##,
        x + 26.0
    ));
    out(format!(
        r##"<text x="{:.1}" y="70.5" fill="{RED}">{}</text>"##,
        x + 32.0,
        xml_escape(&plot.target_legend)
    ));

    // Grid and ticks.
    let mut tick = 0.0;
    while tick <= y_hi + 1e-9 {
        let y = sy(tick);
        out(format!(
            r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#e4e4e4"/>"##
        ));
        out(format!(
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{}×</text>"##,
            left - 8.0,
            y + 4.5,
            if step < 1.0 {
                format!("{tick:.2}")
            } else {
                format!("{tick:.0}")
            }
        ));
        tick += step;
    }
    let mut decade = lo;
    while decade <= x_hi {
        let n = 10f64.powf(decade);
        for m in 2..10 {
            let minor = n * f64::from(m);
            if minor.log10() < x_hi {
                let x = sx(minor);
                out(format!(
                    r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#f2f2f2"/>"##
                ));
            }
        }
        if decade >= x_lo {
            let x = sx(n);
            out(format!(
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#d8d8d8"/>"##
            ));
            out(format!(
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
                bottom + 20.0,
                short_count(n)
            ));
        }
        decade += 1.0;
    }
    out(format!(
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        right - left,
        bottom - top
    ));

    // Axis titles.
    out(format!(
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#222">{}</text>"##,
        (left + right) / 2.0,
        bottom + 42.0,
        xml_escape(&plot.x_title)
    ));
    out(format!(
        r##"<text transform="translate(24 {:.1}) rotate(-90)" text-anchor="middle" fill="#222">login time ÷ bare bcrypt verify</text>"##,
        (top + bottom) / 2.0
    ));

    // The baseline and the targets.
    let y1 = sy(1.0);
    out(format!(
        r##"<line x1="{left}" y1="{y1:.1}" x2="{right}" y2="{y1:.1}" stroke="#555" stroke-width="1.5"/>"##
    ));
    let n_max = all.iter().map(|p| p.0).max().unwrap_or(0);
    for t in &plot.targets {
        let y = sy(t.ratio);
        match t.at {
            None => {
                out(format!(
                    r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="{RED}" stroke-width="1.5" stroke-dasharray="7 5"/>"##
                ));
            }
            Some(n) if n <= n_max => {
                let x = sx(n as f64);
                out(format!(
                    r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{RED}" stroke-width="1.5" stroke-dasharray="7 5"/>"##,
                    x - 60.0,
                    x + 10.0
                ));
                out(format!(
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="{RED}" {HALO}>{}</text>"##,
                    x - 25.0,
                    y - 6.0,
                    xml_escape(&t.label)
                ));
            }
            Some(_) => {}
        }
    }

    // The measured lines.
    for (i, s) in plot.series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(n, r, _)| format!("{:.1},{:.1}", sx(*n as f64), sy(*r)))
            .collect();
        out(format!(
            r##"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2.5"{}/>"##,
            path.join(" "),
            dashes(i)
        ));
        for (n, r, _) in &s.points {
            out(marker(i, sx(*n as f64), sy(*r)));
        }
    }

    // The figures, one block per size: a line per series in its colour, under the 1x
    // line where the plot is empty (above the highest point when there is no room).
    let mut sizes: Vec<usize> = all.iter().map(|p| p.0).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let rows = plot.series.len() as f64;
    let below = sy(0.0) - y1 >= 15.0 * rows + 40.0;
    for n in sizes {
        let x = sx(n as f64);
        let highest = all
            .iter()
            .filter(|p| p.0 == n)
            .map(|p| sy(p.1))
            .fold(f64::INFINITY, f64::min);
        let first = if below {
            y1 + 36.0
        } else {
            highest - 12.0 - 15.0 * (rows - 1.0)
        };
        let mut row = 0.0;
        for (i, s) in plot.series.iter().enumerate() {
            if let Some((_, r, ms)) = s.points.iter().find(|p| p.0 == n) {
                out(format!(
                    r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="{}" {HALO}><tspan font-weight="bold">{r:.3}×</tspan> {ms:.0} ms</text>"##,
                    first + 15.0 * row,
                    COLOURS[i % COLOURS.len()]
                ));
            }
            row += 1.0;
        }
    }

    let lines = plot.footer.len() as f64;
    for (i, line) in plot.footer.iter().enumerate() {
        out(format!(
            r##"<text x="{left}" y="{:.1}" font-size="11" fill="#777">{}</text>"##,
            H - 10.0 - 14.0 * (lines - 1.0 - i as f64),
            xml_escape(line)
        ));
    }
    out("</svg>".into());
    svg
}

/// "1,000 users: 1.02x (218 ms); …" for a series.
pub fn describe(points: &[(usize, f64, f64)]) -> String {
    points
        .iter()
        .map(|(n, r, ms)| format!("{} users: {r:.2}x ({ms:.0} ms)", group(*n as u64)))
        .collect::<Vec<_>>()
        .join("; ")
}
