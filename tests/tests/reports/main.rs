//! Reports: our copy of Amazon's files in S3 (`files`: moto S3, Amazon's
//! download URL stubbed with wiremock) and the memory storing a large one
//! takes (`memory`, a measurement run by hand).

mod files;
mod memory;
