//! The Liquid dialect Jekyll pages are written in, run on minijinja.
pub mod ast;
pub mod expr;
pub mod filters;
pub mod lexer;
pub mod parse;
pub mod runtime;
pub mod time;
pub mod translate;
pub mod value;

pub use runtime::{Engine, Mode, PageTemplate, Pages, Rendered, SiteEnv, fail_render};

use ast::{Expr, Filtered, Key, Node, Root};

/// The `site.*` variables a page's Liquid refers to, in order of first use (`site.a.b`).
/// A page that does not parse refers to nothing.
pub fn site_variables(src: &str) -> Vec<String> {
    match parse::parse(src) {
        Ok(p) => site_variables_in(&p.nodes),
        Err(_) => Vec::new(),
    }
}

/// [`site_variables`] of a template already parsed.
pub fn site_variables_in(nodes: &[Node]) -> Vec<String> {
    let mut out = Vec::new();
    walk_nodes(nodes, &mut out);
    out
}

fn walk_nodes(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        match n {
            Node::Output(f, _) | Node::Assign(_, f, _) => walk_filtered(f, out),
            Node::Capture(_, body, _) | Node::IfChanged(body) => walk_nodes(body, out),
            Node::If {
                branches,
                otherwise,
                ..
            } => {
                for (c, body) in branches {
                    walk_cond(c, out);
                    walk_nodes(body, out);
                }
                if let Some(o) = otherwise {
                    walk_nodes(o, out);
                }
            }
            Node::Case(e, arms, _) => {
                walk_expr(e, out);
                for a in arms {
                    match a {
                        ast::CaseArm::When(vs, body) => {
                            vs.iter().for_each(|v| walk_expr(v, out));
                            walk_nodes(body, out);
                        }
                        ast::CaseArm::Else(body) => walk_nodes(body, out),
                    }
                }
            }
            Node::For {
                collection,
                body,
                otherwise,
                ..
            } => {
                walk_expr(collection, out);
                walk_nodes(body, out);
                if let Some(o) = otherwise {
                    walk_nodes(o, out);
                }
            }
            Node::TableRow {
                collection,
                attrs,
                body,
                ..
            } => {
                walk_expr(collection, out);
                attrs.iter().for_each(|(_, e)| walk_expr(e, out));
                walk_nodes(body, out);
            }
            Node::Cycle { group, values, .. } => {
                group.iter().chain(values).for_each(|e| walk_expr(e, out));
            }
            Node::Include(inc, _) => {
                for (_, v) in &inc.params {
                    if let ast::IncludeValue::Var(e) = v {
                        walk_expr(e, out);
                    }
                }
                if inc.file.contains("{{") {
                    for v in site_variables(&inc.file) {
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn walk_cond(c: &ast::Cond, out: &mut Vec<String>) {
    match c {
        ast::Cond::Test { left, right, .. } => {
            walk_expr(left, out);
            if let Some(r) = right {
                walk_expr(r, out);
            }
        }
        ast::Cond::And(a, b) | ast::Cond::Or(a, b) => {
            walk_cond(a, out);
            walk_cond(b, out);
        }
    }
}

fn walk_filtered(f: &Filtered, out: &mut Vec<String>) {
    if let Some(e) = &f.expr {
        walk_expr(e, out);
    }
    for fl in &f.filters {
        fl.args.iter().for_each(|a| walk_expr(a, out));
        fl.kwargs.iter().for_each(|(_, a)| walk_expr(a, out));
    }
}

fn walk_expr(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Var(l) => {
            if let Root::Name(n) = &l.root
                && n == "site"
            {
                let mut name = String::from("site");
                for k in &l.keys {
                    match k {
                        Key::Dot(s) => {
                            name.push('.');
                            name.push_str(s);
                        }
                        Key::Index(_) => break,
                    }
                }
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            for k in &l.keys {
                if let Key::Index(i) = k {
                    walk_expr(i, out);
                }
            }
        }
        Expr::Range(a, b) => {
            walk_expr(a, out);
            walk_expr(b, out);
        }
        _ => {}
    }
}
