//! PNG charts and `index.html` drawn from the summary tables.
