//! Liquid syntax tree to a minijinja template.
//!
//! minijinja runs the control flow (`if`, `for`, `set` blocks, loop controls); Liquid's
//! meaning lives in the runtime functions the generated code calls:
//! - text is emitted verbatim (inside `{% raw %}` when it contains `{`), so bash such as
//!   `${#arr[@]}` is never read as Jinja;
//! - `_v(pos, quiet, "name", keys…)` looks a variable up through Liquid's scopes (loop and
//!   include scopes, then `assign`ed globals, then `site`/`page`/…); dotted keys are strings,
//!   bracketed keys are one-element lists; `_vl` does the same from a loop-local value;
//! - `_f(pos, "filter", input, [args], {kwargs})` applies a filter;
//! - `_t`/`_cmp` give Liquid truthiness (only nil and false are false) and comparisons;
//! - `assign`/`capture` call `_set`, which writes Liquid's global scope (a `for` body does
//!   not hide it, unlike a Jinja `set`).
//!
//! Loop variables are Jinja locals with generated names, so a Liquid name can be anything
//! (`my-var`, `loop`, `true?`).

use super::ast::*;
use std::fmt::Write as _;

/// `src` is the template source the nodes were parsed from.
pub fn translate(nodes: &[Node], src: &str) -> String {
    let mut t = Translator {
        out: String::with_capacity(1024),
        scopes: Vec::new(),
        counter: 0,
        jinja_loop: false,
        src,
        // a page that assigns `site` or `forloop` makes no loop pure
        memo: !nodes.iter().any(assigns_site),
    };
    t.nodes(nodes);
    t.out
}

fn assigns_site(n: &Node) -> bool {
    match n {
        Node::Assign(name, _, _) => name == "site" || name == "forloop",
        Node::Capture(name, b, _) => {
            name == "site" || name == "forloop" || b.iter().any(assigns_site)
        }
        Node::If {
            branches,
            otherwise,
            ..
        } => {
            branches.iter().any(|(_, b)| b.iter().any(assigns_site))
                || otherwise.iter().flatten().any(assigns_site)
        }
        Node::For {
            body, otherwise, ..
        } => body.iter().any(assigns_site) || otherwise.iter().flatten().any(assigns_site),
        Node::Case(_, arms, _) => arms.iter().any(|a| match a {
            CaseArm::When(_, b) | CaseArm::Else(b) => b.iter().any(assigns_site),
        }),
        Node::IfChanged(b) | Node::TableRow { body: b, .. } => b.iter().any(assigns_site),
        _ => false,
    }
}

/// Whether `break` or `continue` (or an include, which may hold one) appears anywhere in
/// these nodes.
fn interrupts(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Break | Node::Continue | Node::Include(..) => true,
        Node::Capture(_, b, _) | Node::IfChanged(b) | Node::TableRow { body: b, .. } => {
            interrupts(b)
        }
        Node::If {
            branches,
            otherwise,
            ..
        } => {
            branches.iter().any(|(_, b)| interrupts(b))
                || otherwise.as_deref().is_some_and(interrupts)
        }
        Node::For {
            body, otherwise, ..
        } => interrupts(body) || otherwise.as_deref().is_some_and(interrupts),
        Node::Case(_, arms, _) => arms.iter().any(|a| match a {
            CaseArm::When(_, b) | CaseArm::Else(b) => interrupts(b),
        }),
        _ => false,
    })
}

/// Whether this node can leave Liquid's interrupt pending (a `break`/`continue` outside a
/// loop, possibly in an include): the rest of the body around it is skipped then. A loop
/// takes one interrupt of its body; a `tablerow` takes none.
fn may_interrupt(n: &Node) -> bool {
    match n {
        Node::Break | Node::Continue | Node::Include(..) => true,
        Node::Capture(_, b, _) | Node::IfChanged(b) => b.iter().any(may_interrupt),
        Node::If {
            branches,
            otherwise,
            ..
        } => {
            branches.iter().any(|(_, b)| b.iter().any(may_interrupt))
                || otherwise.iter().flatten().any(may_interrupt)
        }
        Node::Case(_, arms, _) => arms.iter().any(|a| match a {
            CaseArm::When(_, b) | CaseArm::Else(b) => b.iter().any(may_interrupt),
        }),
        Node::TableRow { body, .. } => interrupts(body),
        Node::For {
            body, otherwise, ..
        } => stacks(body) || otherwise.iter().flatten().any(may_interrupt),
        _ => false,
    }
}

/// Whether these nodes can leave more than one interrupt pending (Liquid keeps a stack): a
/// `case` goes on to its other matching `when`s after a `break`, a `tablerow` to its next
/// cells, and an include may hold either.
fn stacks(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Include(..) => true,
        Node::Case(_, arms, _) => arms.iter().any(|a| match a {
            CaseArm::When(_, b) | CaseArm::Else(b) => interrupts(b),
        }),
        Node::TableRow { body, .. } => interrupts(body),
        Node::Capture(_, b, _) | Node::IfChanged(b) => stacks(b),
        Node::If {
            branches,
            otherwise,
            ..
        } => branches.iter().any(|(_, b)| stacks(b)) || otherwise.as_deref().is_some_and(stacks),
        Node::For {
            body, otherwise, ..
        } => stacks(body) || otherwise.as_deref().is_some_and(stacks),
        _ => false,
    })
}

/// `e` reads only variables whose root is in `known` (and nothing dynamic).
fn expr_ok(e: &Expr, known: &[String]) -> bool {
    match e {
        Expr::Var(l) => {
            matches!(&l.root, Root::Name(n) if known.contains(n))
                && l.keys.iter().all(|k| match k {
                    Key::Dot(_) => true,
                    Key::Index(i) => expr_ok(i, known),
                })
        }
        Expr::Range(a, b) => expr_ok(a, known) && expr_ok(b, known),
        _ => true,
    }
}

fn filtered_ok(f: &Filtered, known: &[String]) -> bool {
    f.expr.as_ref().is_none_or(|e| expr_ok(e, known))
        && f.filters.iter().all(|fl| {
            fl.args.iter().all(|a| expr_ok(a, known))
                && fl.kwargs.iter().all(|(_, a)| expr_ok(a, known))
        })
}

fn cond_ok(c: &Cond, known: &[String]) -> bool {
    match c {
        Cond::Test { left, right, .. } => {
            expr_ok(left, known) && right.as_ref().is_none_or(|r| expr_ok(r, known))
        }
        Cond::And(a, b) | Cond::Or(a, b) => cond_ok(a, known) && cond_ok(b, known),
    }
}

/// Whether a loop's output depends only on the site (the same on every page of a build):
/// its collection and everything in it read only `site`, its own loop variables and
/// `forloop` (`locals` starts with those names), and it has no side effect (assign,
/// capture, counters, includes).
fn pure_loop(collection: &Expr, body: &[Node], locals: &mut Vec<String>) -> bool {
    let mut walk = ReadsOnly {
        assigns: None,
        loops: 1,
    };
    expr_ok(collection, locals) && walk.block(body, locals)
}

/// Whether an include's output depends only on its parameters and the site, so that the same
/// include with the same parameters renders the same on every page of a build: everything it
/// reads is `include`, `site`, its own loop variables, or a variable it assigned before (in
/// the same block or one around it), and it has no side effect but its assigns (no counters,
/// `cycle`, `ifchanged`, nested includes or links). Some(names it may assign) when it is.
pub fn self_contained(nodes: &[Node]) -> Option<Vec<String>> {
    let mut walk = ReadsOnly {
        assigns: Some(Vec::new()),
        loops: 0,
    };
    let ok = walk.block(nodes, &mut vec!["include".to_string(), "site".to_string()]);
    let mut assigned = walk.assigns.unwrap_or_default();
    ok.then(|| {
        assigned.sort();
        assigned.dedup();
        assigned
    })
}

/// A walk over a template that reads only known variables and has no side effect but, when
/// `assigns` is Some, `assign`/`capture` (whose names it collects).
struct ReadsOnly {
    assigns: Option<Vec<String>>,
    /// loops around the node being walked
    loops: usize,
}

impl ReadsOnly {
    /// `known` grows with what this block assigns; a nested block's assigns stay in it.
    fn block(&mut self, nodes: &[Node], known: &mut Vec<String>) -> bool {
        nodes.iter().all(|n| self.node(n, known))
    }

    fn nested(&mut self, nodes: &[Node], known: &[String]) -> bool {
        self.block(nodes, &mut known.to_vec())
    }

    /// An `assign`/`capture` of `name`: allowed only when assigns are collected.
    fn assign(&mut self, name: &str, known: &mut Vec<String>) -> bool {
        let Some(assigns) = &mut self.assigns else {
            return false;
        };
        assigns.push(name.to_string());
        known.push(name.to_string());
        true
    }

    fn node(&mut self, n: &Node, known: &mut Vec<String>) -> bool {
        match n {
            Node::Text(_) | Node::Raw(_) => true,
            // outside a loop, an interrupt outlives the include: not self-contained
            Node::Break | Node::Continue => self.loops > 0,
            Node::Output(f, _) => filtered_ok(f, known),
            Node::Assign(name, f, _) => filtered_ok(f, known) && self.assign(name, known),
            Node::Capture(name, body, _) => self.nested(body, known) && self.assign(name, known),
            Node::If {
                branches,
                otherwise,
                ..
            } => {
                branches
                    .iter()
                    .all(|(c, b)| cond_ok(c, known) && self.nested(b, known))
                    && otherwise.as_ref().is_none_or(|o| self.nested(o, known))
            }
            Node::Case(e, arms, _) => {
                expr_ok(e, known)
                    && arms.iter().all(|a| match a {
                        CaseArm::When(vs, b) => {
                            vs.iter().all(|v| expr_ok(v, known)) && self.nested(b, known)
                        }
                        CaseArm::Else(b) => self.nested(b, known),
                    })
            }
            // `offset: continue` reads where an earlier loop stopped: not the site alone
            Node::For { resume: true, .. } => false,
            Node::For {
                var,
                collection,
                body,
                otherwise,
                limit,
                offset,
                ..
            } => {
                let mut inner = known.to_vec();
                inner.push(var.clone());
                inner.push("forloop".into());
                expr_ok(collection, known)
                    && limit.as_ref().is_none_or(|e| expr_ok(e, known))
                    && offset.as_ref().is_none_or(|e| expr_ok(e, known))
                    && otherwise.as_ref().is_none_or(|o| self.nested(o, known))
                    && {
                        self.loops += 1;
                        let ok = self.block(body, &mut inner);
                        self.loops -= 1;
                        ok
                    }
            }
            _ => false,
        }
    }
}

/// A 128-bit fingerprint of a loop's source, naming its memoized output.
fn fingerprint(text: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        fnv ^= u64::from(b);
        fnv = fnv.wrapping_mul(0x0100_0000_01b3);
    }
    let mut sip = std::hash::DefaultHasher::new();
    text.hash(&mut sip);
    format!("{fnv:016x}{:016x}{:x}", sip.finish(), text.len())
}

struct Translator<'s> {
    src: &'s str,
    /// Loops that depend only on the site may be computed once per build.
    memo: bool,
    out: String,
    /// Lexically bound loop names: (liquid name, jinja name)
    scopes: Vec<(String, String)>,
    counter: usize,
    /// Whether a minijinja `break`/`continue` here reaches the innermost Liquid loop (not
    /// so at the top of a template, nor inside a capture, where Liquid's interrupt is
    /// carried by the runtime and the rest of each body is skipped while it is pending).
    jinja_loop: bool,
}

/// Whether generated code uses the local `name` (not just a longer name starting with it).
fn mentions(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

pub fn string_literal(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

impl Translator<'_> {
    fn fresh(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    fn local(&self, name: &str) -> Option<&str> {
        self.scopes
            .iter()
            .rev()
            .find(|(l, _)| l == name)
            .map(|(_, j)| j.as_str())
    }

    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if s.contains('{') {
            self.out.push_str("{% raw %}");
            self.out.push_str(s);
            self.out.push_str("{% endraw %}");
        } else {
            self.out.push_str(s);
        }
    }

    fn nodes(&mut self, nodes: &[Node]) {
        self.nodes_in(nodes, false);
    }

    /// `entered_pending`: the body may start with an interrupt already pending (a `case`'s
    /// next matching `when`, a `tablerow`'s next cell): Liquid renders its text and its first
    /// tag, then stops.
    fn nodes_in(&mut self, nodes: &[Node], entered_pending: bool) {
        let mut guards = 0;
        let mut first_tag = entered_pending;
        for (i, n) in nodes.iter().enumerate() {
            self.node(n);
            let tag = !matches!(n, Node::Text(_));
            // Liquid stops a body once a break/continue is pending
            if !self.jinja_loop && i + 1 < nodes.len() && (may_interrupt(n) || (tag && first_tag)) {
                self.out.push_str("{% if not _pending() %}");
                guards += 1;
            }
            first_tag &= !tag;
        }
        for _ in 0..guards {
            self.out.push_str("{% endif %}");
        }
    }

    /// A body that minijinja's `break` cannot leave (a capture's): Liquid's interrupt is
    /// carried by the runtime inside it, and acted on after it.
    fn nodes_outside_loop(&mut self, nodes: &[Node]) {
        let was = std::mem::replace(&mut self.jinja_loop, false);
        self.nodes(nodes);
        self.jinja_loop = was;
    }

    /// After a node that may have left an interrupt pending: in a loop, do it.
    fn take_interrupt(&mut self) {
        if self.jinja_loop {
            self.out.push_str(
                "{% set _i = _intr_take() %}{% if _i == 1 %}{% break %}{% elif _i == 2 %}{% continue %}{% endif %}",
            );
        }
    }

    fn node(&mut self, n: &Node) {
        match n {
            Node::Text(s) | Node::Raw(s) => self.text(s),
            Node::Output(f, _) => {
                let e = self.filtered(f, false);
                let _ = write!(self.out, "{{{{ {e} }}}}");
            }
            Node::Assign(name, f, _) => {
                let e = self.filtered(f, false);
                let _ = write!(self.out, "{{{{ _set({}, {e}) }}}}", string_literal(name));
            }
            Node::Capture(name, body, _) => {
                let id = self.fresh();
                let _ = write!(self.out, "{{% set _c{id} %}}");
                self.nodes_outside_loop(body);
                let _ = write!(
                    self.out,
                    "{{% endset %}}{{{{ _set({}, _c{id}) }}}}",
                    string_literal(name)
                );
                if body.iter().any(may_interrupt) {
                    self.take_interrupt();
                }
            }
            Node::If {
                branches,
                negate_first,
                otherwise,
                ..
            } => {
                for (i, (cond, body)) in branches.iter().enumerate() {
                    let c = self.cond(cond);
                    if i == 0 {
                        if *negate_first {
                            let _ = write!(self.out, "{{% if not ({c}) %}}");
                        } else {
                            let _ = write!(self.out, "{{% if {c} %}}");
                        }
                    } else {
                        let _ = write!(self.out, "{{% elif {c} %}}");
                    }
                    self.nodes(body);
                }
                if let Some(o) = otherwise {
                    self.out.push_str("{% else %}");
                    self.nodes(o);
                }
                self.out.push_str("{% endif %}");
            }
            Node::Case(subject, arms, pos) => {
                let id = self.fresh();
                let s = self.expr(subject, true);
                let _ = write!(
                    self.out,
                    "{{% set _s{id} = {s} %}}{{% set _m{id} = false %}}"
                );
                // a `break` in a `when` does not end the case in Liquid: its other matching
                // bodies still render up to their first tag; the loop acts after the case
                let stops = arms.iter().any(|a| match a {
                    CaseArm::When(_, b) | CaseArm::Else(b) => interrupts(b),
                });
                let was = self.jinja_loop;
                self.jinja_loop &= !stops;
                for arm in arms {
                    match arm {
                        CaseArm::When(values, body) => {
                            let tests: Vec<String> = values
                                .iter()
                                .map(|v| {
                                    let v = self.expr(v, true);
                                    format!("_cmp({pos}, _s{id}, \"==\", {v})")
                                })
                                .collect();
                            if tests.len() == 1 {
                                let _ = write!(
                                    self.out,
                                    "{{% if {} %}}{{% set _m{id} = true %}}",
                                    tests[0]
                                );
                                self.nodes_in(body, stops);
                                self.out.push_str("{% endif %}");
                                continue;
                            }
                            // `when a, b`: each value is a condition of its own sharing the
                            // body, so the body renders once per value that matches
                            let n = self.fresh();
                            let _ = write!(
                                self.out,
                                "{{% set _n{n} = _count({}) %}}{{% if _n{n} > 0 %}}{{% set _m{id} = true %}}{{% endif %}}",
                                tests.join(", ")
                            );
                            let outer = std::mem::take(&mut self.out);
                            let looped = !interrupts(body);
                            let was_arm = self.jinja_loop;
                            self.jinja_loop = false;
                            self.nodes_in(body, stops);
                            self.jinja_loop = was_arm;
                            let inner = std::mem::replace(&mut self.out, outer);
                            if !looped && inner.len() * tests.len() < 1 << 22 {
                                // a `break` must reach the loop around: no loop of our own
                                for k in 0..tests.len() {
                                    let _ = write!(
                                        self.out,
                                        "{{% if _n{n} > {k} %}}{inner}{{% endif %}}"
                                    );
                                }
                            } else {
                                let _ = write!(
                                    self.out,
                                    "{{% for _ in _times(_n{n}) %}}{inner}{{% endfor %}}"
                                );
                            }
                        }
                        CaseArm::Else(body) => {
                            let _ = write!(self.out, "{{% if not _m{id} %}}");
                            self.nodes_in(body, stops);
                            self.out.push_str("{% endif %}");
                        }
                    }
                }
                self.jinja_loop = was;
                if stops {
                    self.take_interrupt();
                }
            }
            Node::For {
                var,
                collection,
                limit,
                offset,
                resume,
                name,
                reversed,
                body,
                otherwise,
                pos,
                end,
            } => {
                // a loop whose output is the same on every page is computed once per build
                // (a page listing site.pages, copied on every page, would be O(pages²))
                let memo = self.memo
                    && self.scopes.is_empty()
                    && limit.is_none()
                    && offset.is_none()
                    && !resume
                    && otherwise.is_none()
                    && pure_loop(
                        collection,
                        body,
                        &mut vec!["site".into(), "forloop".into(), var.clone()],
                    );
                let memo_key = memo.then(|| fingerprint(&self.src[(*pos).min(*end)..*end]));
                if let Some(key) = &memo_key {
                    let _ = write!(
                        self.out,
                        "{{% set _mk = _memo_get(\"{key}\") %}}{{% if _mk == none %}}{{% set _mo %}}"
                    );
                }
                let id = self.fresh();
                let coll = self.expr(collection, false);
                let lim = limit
                    .as_ref()
                    .map(|e| self.expr(e, false))
                    .unwrap_or("none".into());
                let off = offset
                    .as_ref()
                    .map(|e| self.expr(e, false))
                    .unwrap_or("none".into());
                let parent = self.local("forloop").unwrap_or("none").to_string();
                let _ = write!(
                    self.out,
                    "{{% set _s{id} = _iter([{pos}, {}, {}, {}], {coll}, {off}, {lim}) %}}{{% for l{id} in _s{id} %}}",
                    u8::from(*reversed),
                    u8::from(*resume),
                    string_literal(name),
                );
                self.scopes.push((var.clone(), format!("l{id}")));
                self.scopes.push(("forloop".into(), format!("f{id}")));
                // build `forloop` only when the body (or an include in it) can see it
                let outer = std::mem::take(&mut self.out);
                let was = std::mem::replace(&mut self.jinja_loop, true);
                self.nodes(body);
                self.jinja_loop = was;
                let inner = std::mem::replace(&mut self.out, outer);
                if mentions(&inner, &format!("f{id}")) {
                    let _ = write!(self.out, "{{% set f{id} = _forloop(loop, {parent}) %}}");
                }
                self.out.push_str(&inner);
                self.scopes.pop();
                self.scopes.pop();
                self.out.push_str("{% endfor %}");
                // Liquid's `else` renders when the segment is empty (not after a `break`)
                if let Some(o) = otherwise {
                    let _ = write!(self.out, "{{% if _empty(_s{id}) %}}");
                    self.nodes(o);
                    self.out.push_str("{% endif %}");
                }
                // more interrupts than the loop took (Liquid keeps a stack of them)
                if stacks(body) {
                    self.take_interrupt();
                }
                if let Some(key) = &memo_key {
                    let _ = write!(
                        self.out,
                        "{{% endset %}}{{{{ _memo_put(\"{key}\", _mo) }}}}{{% else %}}{{{{ _mk }}}}{{% endif %}}"
                    );
                }
            }
            Node::TableRow {
                var,
                collection,
                attrs,
                body,
                pos,
            } => {
                let id = self.fresh();
                let coll = self.expr(collection, false);
                let attr = |k: &str, t: &mut Self| {
                    attrs
                        .iter()
                        .rev()
                        .find(|(n, _)| n == k)
                        .map(|(_, e)| t.expr(e, false))
                };
                let off = attr("offset", self);
                let lim = attr("limit", self);
                let cols = attr("cols", self).unwrap_or("none".into());
                let _ = write!(
                    self.out,
                    "{{% set _s{id} = _trseg([{pos}, {}, {}], {coll}, {}, {}) %}}{{% if _t(_s{id}) %}}{{% set _k{id} = _to_i({pos}, {cols}) %}}",
                    u8::from(off.is_some()),
                    u8::from(lim.is_some()),
                    off.as_deref().unwrap_or("none"),
                    lim.as_deref().unwrap_or("none"),
                );
                self.text("<tr class=\"row1\">\n");
                let _ = write!(
                    self.out,
                    "{{% for l{id} in _s{id} %}}{{% set t{id} = _trloop(loop.index0, loop.length, _k{id}) %}}<td class=\"col{{{{ t{id}.col }}}}\">"
                );
                self.scopes.push((var.clone(), format!("l{id}")));
                self.scopes.push(("tablerowloop".into(), format!("t{id}")));
                // a tablerow takes no interrupt: a `break` stops the cell, the next cells
                // render up to their first tag, and the loop around acts after the table
                let stops = interrupts(body);
                let was = std::mem::replace(&mut self.jinja_loop, !stops);
                self.nodes_in(body, stops);
                self.jinja_loop = was;
                self.scopes.pop();
                self.scopes.pop();
                let _ = write!(
                    self.out,
                    "</td>{{% if t{id}.col_last and not t{id}.last %}}</tr>\n<tr class=\"row{{{{ t{id}.row + 1 }}}}\">{{% endif %}}{{% endfor %}}</tr>\n{{% endif %}}"
                );
                if stops {
                    self.take_interrupt();
                }
            }
            Node::Include(inc, pos) => {
                let file = self.template_string(&inc.file, inc.file_pos);
                let params: Vec<String> = inc
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            IncludeValue::Str(s) => string_literal(s),
                            IncludeValue::Var(e) => self.expr(e, true),
                        };
                        format!("{}: {v}", string_literal(k))
                    })
                    .collect();
                let bindings = self.bindings();
                let _ = write!(
                    self.out,
                    "{{{{ _include([{pos}, {}, {}], {file}, {{{}}}, {bindings}) }}}}",
                    u8::from(inc.has_params),
                    u8::from(inc.relative),
                    params.join(", ")
                );
                self.take_interrupt();
            }
            Node::Link(path, pos) => {
                let p = self.template_string(path, *pos);
                let _ = write!(self.out, "{{{{ _link({pos}, {p}) }}}}");
            }
            Node::Break if self.jinja_loop => self.out.push_str("{% break %}"),
            Node::Continue if self.jinja_loop => self.out.push_str("{% continue %}"),
            // outside a loop (or inside a capture) Liquid's interrupt stops the bodies
            // around it up to the loop, or the rest of the template
            Node::Break => self.out.push_str("{{ _intr_set(1) }}"),
            Node::Continue => self.out.push_str("{{ _intr_set(2) }}"),
            Node::Increment(name, _, up) => {
                let _ = write!(self.out, "{{{{ _incr({}, {up}) }}}}", string_literal(name));
            }
            Node::Cycle {
                group,
                values,
                key,
                pos,
            } => {
                let g = group
                    .as_ref()
                    .map(|g| self.expr(g, true))
                    .unwrap_or("none".into());
                let vals: Vec<String> = values.iter().map(|v| self.expr(v, true)).collect();
                let key = key.as_deref().map(string_literal).unwrap_or("none".into());
                let _ = write!(
                    self.out,
                    "{{{{ _cycle([{pos}, {}, {key}], {g}, [{}]) }}}}",
                    u8::from(group.is_some()),
                    vals.join(", ")
                );
            }
            Node::IfChanged(body) => {
                let id = self.fresh();
                let _ = write!(self.out, "{{% set _c{id} %}}");
                self.nodes_outside_loop(body);
                let _ = write!(self.out, "{{% endset %}}{{{{ _ifchanged(_c{id}) }}}}");
                if body.iter().any(may_interrupt) {
                    self.take_interrupt();
                }
            }
        }
    }

    /// Loop variables visible here, passed to includes (Liquid's scopes are dynamic).
    fn bindings(&self) -> String {
        let mut seen = Vec::new();
        let mut parts = Vec::new();
        for (l, j) in self.scopes.iter().rev() {
            if !seen.contains(l) {
                seen.push(l.clone());
                parts.push(format!("{}: {j}", string_literal(l)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// A file name or path that may contain `{{ }}`: a string expression.
    fn template_string(&mut self, s: &str, pos: usize) -> String {
        if !s.contains("{{") {
            return string_literal(s);
        }
        match super::parse::parse(s) {
            Ok(p) => {
                let mut parts = Vec::new();
                for n in &p.nodes {
                    match n {
                        Node::Text(t) => parts.push(string_literal(t)),
                        Node::Output(f, _) => {
                            parts.push(format!("_str({})", self.filtered_at(f, pos)))
                        }
                        _ => {}
                    }
                }
                if parts.is_empty() {
                    "\"\"".into()
                } else {
                    parts.join(" ~ ")
                }
            }
            Err(_) => string_literal(s),
        }
    }

    /// Filters inside a file name: positions are relative to that name; point at the tag.
    fn filtered_at(&mut self, f: &Filtered, pos: usize) -> String {
        let mut f = f.clone();
        for fl in &mut f.filters {
            fl.pos = pos;
        }
        if let Some(Expr::Var(l)) = &mut f.expr {
            l.pos = pos;
        }
        self.filtered(&f, false)
    }

    fn filtered(&mut self, f: &Filtered, quiet: bool) -> String {
        let Some(e) = &f.expr else {
            return "none".into();
        };
        // a value piped into `default` may be missing on purpose
        let quiet = quiet || f.input_is_optional();
        let mut acc = self.expr(e, quiet);
        for fl in &f.filters {
            let args: Vec<String> = fl.args.iter().map(|a| self.expr(a, false)).collect();
            let kwargs: Vec<String> = fl
                .kwargs
                .iter()
                .map(|(k, v)| format!("{}: {}", string_literal(k), self.expr(v, false)))
                .collect();
            // keyword arguments are rare: leave the map out when there are none
            let kwargs = if kwargs.is_empty() {
                String::new()
            } else {
                format!(", {{{}}}", kwargs.join(", "))
            };
            acc = format!(
                "_f({}, {}, {acc}, [{}]{kwargs})",
                fl.pos,
                string_literal(&fl.name),
                args.join(", "),
            );
        }
        acc
    }

    fn cond(&mut self, c: &Cond) -> String {
        match c {
            Cond::Test { left, op, right } => match (op, right) {
                (Some(op), Some(r)) => {
                    let pos = match left {
                        Expr::Var(l) => l.pos,
                        _ => 0,
                    };
                    let a = self.expr(left, true);
                    let b = self.expr(r, true);
                    format!("_cmp({pos}, {a}, {}, {b})", string_literal(op))
                }
                _ => format!("_t({})", self.expr(left, true)),
            },
            Cond::And(a, b) => format!("({} and {})", self.cond(a), self.cond(b)),
            Cond::Or(a, b) => format!("({} or {})", self.cond(a), self.cond(b)),
        }
    }

    fn expr(&mut self, e: &Expr, quiet: bool) -> String {
        match e {
            Expr::Nil => "none".into(),
            Expr::Bool(b) => b.to_string(),
            Expr::Int(i) => i.to_string(),
            Expr::Float(f) => {
                if f.is_finite() {
                    format!("{f:?}")
                } else {
                    "none".into()
                }
            }
            Expr::Str(s) => string_literal(s),
            Expr::Empty => "_special(\"empty\")".into(),
            Expr::Blank => "_special(\"blank\")".into(),
            Expr::Range(a, b) => {
                let a = self.expr(a, quiet);
                let b = self.expr(b, quiet);
                format!("_range({a}, {b})")
            }
            Expr::Var(l) => {
                let keys: Vec<String> = l
                    .keys
                    .iter()
                    .map(|k| match k {
                        Key::Dot(s) => string_literal(s),
                        Key::Index(e) => format!("[{}]", self.expr(e, true)),
                    })
                    .collect();
                let text = string_literal(&l.text);
                let keys = if keys.is_empty() {
                    String::new()
                } else {
                    format!(", {}", keys.join(", "))
                };
                // position and quietness packed in one argument (minijinja functions take five)
                let pq = l.pos * 2 + usize::from(quiet);
                // the common `a.b.c`: one string, split at run time (less template to compile)
                if let Root::Name(n) = &l.root
                    && l.keys
                        .iter()
                        .all(|k| matches!(k, Key::Dot(s) if !s.contains('.')))
                    && l.text
                        == std::iter::once(n.as_str())
                            .chain(l.keys.iter().map(|k| match k {
                                Key::Dot(s) => s.as_str(),
                                Key::Index(_) => "",
                            }))
                            .collect::<Vec<_>>()
                            .join(".")
                {
                    return match self.local(n) {
                        Some(j) => format!("_pl({pq}, {text}, {j})"),
                        None => format!("_p({pq}, {text})"),
                    };
                }
                match &l.root {
                    Root::Name(n) => match self.local(n) {
                        Some(j) => format!("_vl({pq}, {text}, {j}{keys})"),
                        None => format!("_v({pq}, {text}, {}{keys})", string_literal(n)),
                    },
                    Root::Dynamic(inner) => {
                        let inner = self.expr(inner, true);
                        format!("_v({pq}, {text}, _str({inner}){keys})")
                    }
                }
            }
        }
    }
}
