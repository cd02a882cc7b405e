//! SARIF 2.1.0 (the format GitHub code scanning uploads): one run of the tool `runbook`,
//! every rule with its description and help, and each problem as a result with its rule, its
//! level and its physical location relative to the repository root (`%SRCROOT%`), columns
//! counted in Unicode code points as runbook counts them.

use super::Report;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif,
    Tool, ToolComponent,
};
use std::collections::BTreeMap;

const SRCROOT: &str = "%SRCROOT%";

pub fn write(report: &Report) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = super::repository_root(&cwd);
    let rules: Vec<ReportingDescriptor> = crate::rules::RULES
        .iter()
        .map(|r| {
            ReportingDescriptor::builder()
                .id(r.id)
                .name(r.id)
                .short_description(text(r.summary))
                .full_description(text(r.summary))
                .help(text(r.help))
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::json!("error"))
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<SarifResult> = report
        .problems
        .iter()
        .map(|p| {
            let mut message = p.diag.message.clone();
            if let Some(h) = &p.diag.hint {
                message.push_str(&format!(" (help: {h})"));
            }
            let level = match p.level() {
                "error" => ResultLevel::Error,
                "warning" => ResultLevel::Warning,
                _ => ResultLevel::Note,
            };
            let index = crate::rules::RULES
                .iter()
                .position(|r| r.id == p.diag.code)
                .map_or(-1, |i| i as i64);
            let locations: Vec<Location> = p
                .span()
                .map(|(path, line, col, end)| {
                    Location::builder()
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(
                                    ArtifactLocation::builder()
                                        .uri(super::relative_uri(&path, &root))
                                        .uri_base_id(SRCROOT)
                                        .build(),
                                )
                                .region(
                                    Region::builder()
                                        .start_line(line as i64)
                                        .start_column(col as i64)
                                        .end_line(line as i64)
                                        // the column after the region's last character
                                        .end_column(end as i64 + 1)
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                })
                .into_iter()
                .collect();
            SarifResult::builder()
                .rule_id(p.diag.code)
                .rule_index(index)
                .level(level)
                .message(Message::builder().text(message).build())
                .locations(locations)
                .build()
        })
        .collect();
    let mut base = BTreeMap::new();
    base.insert(
        SRCROOT.to_string(),
        ArtifactLocation::builder()
            .uri(format!("{}/", super::file_uri(&root)))
            .build(),
    );
    let run = Run::builder()
        .tool(
            Tool::builder()
                .driver(
                    ToolComponent::builder()
                        .name("runbook")
                        .version(env!("CARGO_PKG_VERSION"))
                        .semantic_version(env!("CARGO_PKG_VERSION"))
                        .rules(rules)
                        .build(),
                )
                .build(),
        )
        .original_uri_base_ids(base)
        .column_kind(serde_json::json!("unicodeCodePoints"))
        .results(results)
        .build();
    let sarif = Sarif::builder()
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&sarif).unwrap_or_default() + "\n"
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s).build()
}
