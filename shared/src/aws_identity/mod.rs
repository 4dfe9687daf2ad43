//! AWS identities, proven: a caller's signed `sts:GetCallerIdentity`
//! request (`proof`), checked here and sent to STS by us (`sts`), and the
//! IAM roles it may name (`roles`). HashiCorp Vault's AWS IAM auth method
//! works this way: STS, not the payload, says who signed.

pub mod proof;
pub mod roles;
pub mod sts;
