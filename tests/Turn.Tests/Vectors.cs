using Xunit;

namespace Turn.Tests;

/// <summary>
/// Loads the RFC test vectors kept as hex text under <c>Vectors/</c>, named by RFC section:
/// bytes as hex digits, whitespace anywhere, <c>#</c> to the end of a line a comment.
/// </summary>
internal static class Vectors
{
    public const string Rfc5769Request = "rfc5769-2.1-request.hex";
    public const string Rfc5769Ipv4Response = "rfc5769-2.2-ipv4-response.hex";
    public const string Rfc5769Ipv6Response = "rfc5769-2.3-ipv6-response.hex";
    public const string Rfc5769LongTermRequest = "rfc5769-2.4-long-term-request.hex";
    public const string Rfc8489Sha256Request = "rfc8489-B.1-sha256-userhash-request.hex";

    public static IReadOnlyList<string> All { get; } =
    [
        Rfc5769Request,
        Rfc5769Ipv4Response,
        Rfc5769Ipv6Response,
        Rfc5769LongTermRequest,
        Rfc8489Sha256Request,
    ];

    public static TheoryData<string> AllNames
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string name in All)
            {
                data.Add(name);
            }

            return data;
        }
    }

    public static byte[] Load(string name) => ParseHex(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", name)));

    public static byte[] ParseHex(string text)
    {
        var digits = new System.Text.StringBuilder(text.Length);
        foreach (string line in text.Split('\n'))
        {
            int comment = line.IndexOf('#', StringComparison.Ordinal);
            foreach (char c in comment < 0 ? line : line[..comment])
            {
                if (!char.IsWhiteSpace(c))
                {
                    digits.Append(c);
                }
            }
        }

        return Convert.FromHexString(digits.ToString());
    }
}
