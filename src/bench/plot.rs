//! The SVG plot of a benchmark: prove time, verify time and peak memory against depth.

use super::BenchReport;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(
        path,
        std::io::Error::other(format!("drawing the plot: {e}")),
    )
}

/// Draws three panels side by side: prove time (total and per step, with the raw-Nova baseline
/// per step; log-log), verify time, and peak RSS, each against depth (log scale).
pub fn plot_svg(report: &BenchReport, path: &Path) -> Result<()> {
    if report.rows.is_empty() {
        return Err(Error::Usage("nothing to plot".into()));
    }
    let e = |err| plot_err(path, err);
    let rows = &report.rows;
    let depth = |r: &super::Row| r.depth as f64;
    let dmin = rows.iter().map(depth).fold(f64::INFINITY, f64::min);
    let dmax = rows.iter().map(depth).fold(0.0, f64::max);
    let xr = (dmin / 1.5)..(dmax * 1.5);
    let fmt_depth = |x: &f64| format!("{}", x.round());

    let root = SVGBackend::new(path, (1320, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let title = format!(
        "kerafold bench: {} width {}{} ({}), {}",
        report.kind,
        report.width,
        if report.kind.is_dense() {
            String::new()
        } else {
            format!(" on {0}x{0}", report.size)
        },
        report.system,
        report.machine
    );
    let root = root.titled(&title, ("sans-serif", 18)).map_err(e)?;
    let panels = root.split_evenly((1, 3));

    // prove time, log-log
    let prove: Vec<(f64, f64)> = rows.iter().map(|r| (depth(r), r.m.prove_s)).collect();
    let per_step: Vec<(f64, f64)> = rows.iter().map(|r| (depth(r), r.m.per_step_s)).collect();
    let base: Vec<(f64, f64)> = rows.iter().map(|r| (depth(r), r.baseline_step_s)).collect();
    let all = prove.iter().chain(&per_step).chain(&base).map(|p| p.1);
    let ymin = all.clone().fold(f64::INFINITY, f64::min).max(1e-4);
    let ymax = all.fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("prove time (s)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(
            xr.clone().log_scale().base(2.0),
            ((ymin / 1.5)..(ymax * 1.5)).log_scale(),
        )
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("depth")
        .x_label_formatter(&fmt_depth)
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()
        .map_err(e)?;
    for (points, color, label) in [
        (&prove, BLUE, "total (per-step work)"),
        (&per_step, GREEN, "per step"),
        (&base, RGBColor(120, 120, 120), "raw Nova per step"),
    ] {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;

    // verify time and peak memory, linear from zero
    for (panel, caption, values) in [
        (
            &panels[1],
            "verify time (s)",
            rows.iter()
                .map(|r| (depth(r), r.m.verify_s))
                .collect::<Vec<_>>(),
        ),
        (
            &panels[2],
            "peak RSS (MB)",
            rows.iter().map(|r| (depth(r), r.m.peak_rss_mb)).collect(),
        ),
    ] {
        let ymax = values.iter().map(|p| p.1).fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(xr.clone().log_scale().base(2.0), 0.0..(ymax * 1.3))
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("depth")
            .x_label_formatter(&fmt_depth)
            .draw()
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                values.iter().copied(),
                BLUE.stroke_width(2),
            ))
            .map_err(e)?;
        chart
            .draw_series(values.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}
