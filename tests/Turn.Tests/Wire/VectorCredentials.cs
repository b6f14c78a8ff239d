using System.Text;
using Turn.Auth;
using Turn.Wire;

namespace Turn.Tests.Wire;

/// <summary>The credentials the RFC 5769 and RFC 8489 Appendix B vectors were made with.</summary>
internal static class VectorCredentials
{
    /// <summary>RFC 5769 §2.1–2.3: short-term password; the key is its UTF-8 bytes.</summary>
    public const string ShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

    public const string ShortTermUsername = "evtj:h6vY";

    /// <summary>RFC 5769 §2.4 and RFC 8489 B.1: "マトリックス" ("matrix" in katakana).</summary>
    public const string LongTermUsername = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";

    /// <summary>"TheMatrIX" once SASLprep has removed the soft hyphen and folded ª and Ⅸ.</summary>
    public const string LongTermPassword = "The\u00ADM\u00AAtr\u2168";

    public const string Realm = "example.org";

    public const string Rfc5769Nonce = "f//499k954d6OL34oL9FSTvy64sA";

    public const string Rfc8489Nonce = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

    public static byte[] ShortTermKey => Encoding.UTF8.GetBytes(ShortTermPassword);

    public static byte[] Md5Key => LongTermKey.Derive(PasswordAlgorithm.Md5, LongTermUsername, Realm, LongTermPassword)
        ?? throw new InvalidOperationException("The RFC 5769 §2.4 password must prepare.");

    public static byte[] Sha256Key => LongTermKey.Derive(PasswordAlgorithm.Sha256, LongTermUsername, Realm, LongTermPassword)
        ?? throw new InvalidOperationException("The RFC 8489 B.1 password must prepare.");

    public static byte[] KeyFor(string vector) => vector switch
    {
        Vectors.Rfc5769LongTermRequest => Md5Key,
        Vectors.Rfc8489Sha256Request => Sha256Key,
        _ => ShortTermKey,
    };
}
