//! The Liquid syntax tree. Every node keeps the byte offset of its tag in the template source.

#[derive(Debug, Clone)]
pub enum Expr {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `empty` / `blank`: compare specially.
    Empty,
    Blank,
    Range(Box<Expr>, Box<Expr>),
    Var(Lookup),
}

#[derive(Debug, Clone)]
pub struct Lookup {
    pub root: Root,
    pub keys: Vec<Key>,
    /// Offset of the expression in the template source.
    pub pos: usize,
    /// The expression as written, for messages.
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum Root {
    Name(String),
    Dynamic(Box<Expr>),
}

#[derive(Debug, Clone)]
pub enum Key {
    /// `.name`: also `size`, `first`, `last` on values without that key.
    Dot(String),
    /// `[expr]`
    Index(Expr),
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub name: String,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    pub pos: usize,
}

/// An expression followed by filters, as in `{{ x | f: a }}` and `assign y = x | f`.
#[derive(Debug, Clone)]
pub struct Filtered {
    pub expr: Option<Expr>,
    pub filters: Vec<Filter>,
}

impl Filtered {
    /// A value piped straight into `default` may be missing on purpose: no undefined warning.
    pub fn input_is_optional(&self) -> bool {
        self.filters.first().is_some_and(|f| f.name == "default")
    }
}

#[derive(Debug, Clone)]
pub enum Cond {
    Test {
        left: Expr,
        op: Option<String>,
        right: Option<Expr>,
    },
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[derive(Debug, Clone)]
pub enum CaseArm {
    When(Vec<Expr>, Vec<Node>),
    Else(Vec<Node>),
}

#[derive(Debug, Clone)]
pub enum IncludeValue {
    Str(String),
    Var(Expr),
}

#[derive(Debug, Clone)]
pub struct Include {
    /// The file name; may contain `{{ }}` to be rendered at run time.
    pub file: String,
    pub file_pos: usize,
    pub params: Vec<(String, IncludeValue)>,
    pub has_params: bool,
    pub relative: bool,
}

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    /// The body of `{% raw %}`: text, but a tag to whitespace control (`{%- x %}` after it
    /// does not strip it) and to the blank-block rule (blank only when empty).
    Raw(String),
    Output(Filtered, usize),
    Assign(String, Filtered, usize),
    Capture(String, Vec<Node>, usize),
    If {
        branches: Vec<(Cond, Vec<Node>)>,
        negate_first: bool,
        otherwise: Option<Vec<Node>>,
        pos: usize,
    },
    Case(Expr, Vec<CaseArm>, usize),
    For {
        var: String,
        collection: Expr,
        limit: Option<Expr>,
        offset: Option<Expr>,
        /// `offset: continue`: start where the last loop of the same name stopped.
        resume: bool,
        /// Liquid's name of the loop (`var-collection`), under which the offset where it
        /// stopped is kept for `offset: continue`.
        name: String,
        reversed: bool,
        body: Vec<Node>,
        otherwise: Option<Vec<Node>>,
        pos: usize,
        /// Offset just after `{% endfor %}`.
        end: usize,
    },
    Include(Include, usize),
    Link(String, usize),
    Break,
    Continue,
    Increment(String, usize, bool),
    /// `{% cycle [group:] values %}`. Without a group, cycles whose values are the same
    /// literals share a counter (Liquid keys them by the values' text); `key` is that text,
    /// None when a value is a variable (then the tag has its own counter).
    Cycle {
        group: Option<Expr>,
        values: Vec<Expr>,
        key: Option<String>,
        pos: usize,
    },
    IfChanged(Vec<Node>),
    /// `{% tablerow var in collection cols: limit: offset: %}`
    TableRow {
        var: String,
        collection: Expr,
        /// `cols`, `limit`, `offset` (any other attribute is read and ignored, as Liquid does)
        attrs: Vec<(String, Expr)>,
        body: Vec<Node>,
        pos: usize,
    },
}
