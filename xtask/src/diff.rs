pub fn diff_files(_o: &std::path::Path, _n: &std::path::Path) -> Result<Report, crate::Problem> {
    todo!()
}
pub struct Report;
impl Report {
    pub fn text(&self) -> String {
        String::new()
    }
    pub fn json(&self) -> String {
        String::new()
    }
    pub fn is_breaking(&self) -> bool {
        false
    }
}
