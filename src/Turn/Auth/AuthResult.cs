namespace Turn.Auth;

/// <summary>What <see cref="Authenticator"/> found: the verdict and, when Ok, who signed and with which key.</summary>
internal readonly record struct AuthResult(AuthStatus Status, string? Username, CredentialKey? Key, bool Sha256Integrity, string Reason)
{
    public static AuthResult Fail(AuthStatus status, string reason) => new(status, null, null, false, reason);
}
