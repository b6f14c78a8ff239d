using Turn.Auth;
using Turn.Wire;

namespace Turn.Tests.Server;

/// <summary>
/// Who signs a test request, and how (RFC 8489 §9.2): the long-term key's algorithm, whether
/// PASSWORD-ALGORITHM(S) are sent (always with SHA-256, optionally with MD5), and whether the
/// user is named by USERHASH instead of USERNAME.
/// </summary>
internal sealed record TurnCredentials(string Username, string Password, ushort Algorithm = PasswordAlgorithm.Md5, bool UserHash = false, bool NameAlgorithm = false)
{
    public bool SendsAlgorithms => NameAlgorithm || Algorithm != PasswordAlgorithm.Md5;

    public byte[] Key(string realm)
        => LongTermKey.Derive(Algorithm, Username, realm, Password) ?? throw new InvalidOperationException($"The password of {Username} cannot be prepared.");

    public TurnCredentials WithSha256() => this with { Algorithm = PasswordAlgorithm.Sha256 };

    public TurnCredentials WithPassword(string password) => this with { Password = password };
}
