namespace Turn.Tests.Server;

/// <summary>Credential attributes a signed test request leaves out, to provoke RFC 8489 §9.2.4's 400.</summary>
[Flags]
internal enum TurnOmit
{
    None = 0,
    Username = 1,
    Realm = 2,
    Nonce = 4,
}
