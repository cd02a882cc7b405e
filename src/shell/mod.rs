//! What shell text means, decided in one place.
//!
//! Every reader of a step's command text goes through [`lex`]: the model (placeholders,
//! comments, heredoc bodies, which lines start a command), the plan (variables read and set,
//! command words for the PATH check, functions, `eval`/`source`), the placeholder filler (the
//! quoting context of each placeholder) and the secret watcher (literal values assigned to
//! secret-named variables). There is no second scanner with its own idea of quoting.
//!
//! # The grammar the lexer follows (bash's)
//!
//! * Quotes: `'...'` (nothing special inside), `"..."` (`$`, `` ` `` and `\` before
//!   `$ ` " \ newline` are special), `$'...'` (C escapes), `$"..."` (as `"..."`), `\` before any
//!   character outside quotes, `\` at the end of a line joins it to the next (outside single
//!   quotes).
//! * Expansions, at any depth and inside double quotes: `$NAME`, `$1`, `$?`..., `${...}` (name,
//!   subscript, and the operator's word: a default value after `:-`/`-`/`:=`/`=`/`:+`/`+`/
//!   `:?`/`?`, a pattern after `#`/`##`/`%`/`%%`/`/`/`//`/`^`/`,`, a replacement after the
//!   pattern's `/`, arithmetic after a lone `:`), `$(...)`, `` `...` `` (nested as `` \` ``,
//!   `` \\\` ``...), `$((...))`, `$[...]`, `<(...)`, `>(...)`.
//! * Commands: words separated by blanks and the operators `; & | && || ;; ;& ;;& |& ( )`,
//!   newlines; redirections (`<`, `>`, `>>`, `<&`, `>&`, `<>`, `>|`, `&>`, `&>>`, with an
//!   optional fd number) take the next word as their target; `<<`/`<<-` take a delimiter, and
//!   the heredoc's body starts on the next line (quoted delimiter: the body is literal;
//!   otherwise `$`, `` ` `` and `\` work in it) and ends at the line equal to the delimiter
//!   (leading tabs removed for `<<-`), exactly as bash reads it; `<<<` takes a word.
//! * Command position: the first word of a simple command that is not an assignment
//!   (`NAME=`, `NAME+=`, `NAME[subscript]=`) or a reserved word (`if then else elif fi do done
//!   while until for select case esac in function { } ! [[ ]] time`); after a wrapper (`sudo`,
//!   `env`, `exec`, `command`, `builtin`, `nohup`, `nice`, `time`, `timeout`, `stdbuf`,
//!   `doas`) and its options, the next word is in command position again. `for NAME`,
//!   `select NAME`, `case WORD in PATTERN)`, `function NAME`, `NAME()` are understood.
//! * A `#` that starts a word begins a comment to the end of the line.
//! * Waiting for more input ([`Lexer::waiting`], where bash would print PS2 `> `): inside a
//!   quote, `$(...)`, `${...}` or a heredoc, after a `\` at the end of a line
//!   ([`Lexer::continuing`]), while a compound command is open (`if` until its `fi`, `for`,
//!   `select`, `while`, `until` until `done`, `case` until `esac`, `{` until `}`, each a
//!   reserved word only in command position), or after a line ending with `|`, `|&`, `&&`
//!   or `||` (a comment after the operator included).
//! * A `(` among a simple command's arguments (`origin https://x (fetch)`) is a syntax error
//!   for bash; [`LineInfo::stray_paren`] says where.
//! * Arithmetic: `$((...))`, `((...))`, `$[...]`, array subscripts (`a[i]=`, `${a[i]}`),
//!   `${x:offset:length}`, `let` arguments, and the operands of `-eq -ne -lt -le -gt -ge`
//!   inside `[[ ]]`. Bash evaluates these as expressions (and `a[$(cmd)]` inside them runs
//!   `cmd`), so the only data they can hold is a number.
//! * Reparsed words: the arguments of `eval`, the string after `-c` of a shell (`sh`, `bash`,
//!   `dash`, `zsh`, `ksh`, `ash`), of `su`/`runuser`, the command after `ssh`'s destination,
//!   the arguments of `watch` and of `sudo -s`/`-i`, and a heredoc fed to a shell or to `ssh`
//!   are parsed as shell code a second time.
//!
//! # Placeholders
//!
//! A placeholder is a `<…>` that the reader must replace before running the command, and that
//! bash would otherwise read as a redirection: `<` directly followed by a letter, `_` or `{`,
//! closed by `>` on the same line, the content not ending in a space or `/` and free of
//! ``< ' " ` $ ; | & ( ) = \``: `<X>`, `<slave name>`, `<alimesosXX>`, also inside a word
//! (`cern-geneva-<X>`), inside quotes and in heredoc bodies. Never placeholders: the operators
//! above (`<<`, `<<<`, `<(`, `<&`, `<>`, `< file`), anything in a comment, a path-like content
//! directly followed by a word character (`sort <in.txt>out.txt`: two redirections), an HTML
//! element name inside quotes or a heredoc body (`echo '<b>'`), a tag whose end tag `</name>`
//! follows on the same line (or, in a heredoc body, anywhere later in the text).
//!
//! Each placeholder carries its [`Context`]: how a value must be written there to arrive as
//! one literal string ([`quote`]).

mod lex;
mod quote;

pub(crate) use lex::HTML_TAGS;
pub use lex::{
    Assign, CommandWord, Context, Lexed, Lexer, LineInfo, Placeholder, Quoting, Var, lex,
};
pub use quote::{Filled, display, fill, has_control, invisible, quote, shell_quote};
