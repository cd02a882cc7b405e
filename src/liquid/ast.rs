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
    Cycle(Option<Expr>, Vec<Expr>, usize),
    IfChanged(Vec<Node>),
}
