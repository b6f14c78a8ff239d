namespace Turn.Auth;

/// <summary>The verdict on a request's long-term credentials (RFC 8489 §9.2.4).</summary>
internal enum AuthStatus
{
    Ok,

    /// <summary>No MESSAGE-INTEGRITY(-SHA256): 401 with REALM and NONCE.</summary>
    Challenge,

    /// <summary>Integrity present but USERNAME/USERHASH, REALM or NONCE missing or malformed, or a password-algorithm downgrade: 400.</summary>
    BadRequest,

    /// <summary>The nonce is not ours, not for this client, or too old: 438 with a fresh one.</summary>
    StaleNonce,

    /// <summary>Unknown user, expired REST username, wrong realm or integrity that does not verify: 401.</summary>
    Unauthorized,
}
