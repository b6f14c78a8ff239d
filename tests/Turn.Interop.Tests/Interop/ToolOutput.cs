using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Turn.Tests.Interop;

/// <summary>Reads the addresses the external clients print.</summary>
internal static partial class ToolOutput
{
    /// <summary>turnutils_stunclient: "0: : IPv4. UDP reflexive addr: 127.0.0.1:48965".</summary>
    public static List<IPEndPoint> ReflexiveAddresses(string output) => All(ReflexiveLine(), output);

    /// <summary>turnutils_stunclient: "0: : IPv4. Response origin: : 127.0.0.1:3478".</summary>
    public static List<IPEndPoint> ResponseOrigins(string output) => All(ResponseOriginLine(), output);

    /// <summary>turnutils_stunclient: "0: : IPv4. Other addr: : 127.0.0.2:3479".</summary>
    public static List<IPEndPoint> OtherAddresses(string output) => All(OtherAddressLine(), output);

    /// <summary>turnutils_stunclient in RFC 5780 mode: the text of each "RFC 5780 response N" block, in order.</summary>
    public static List<string> Rfc5780Responses(string output)
        => [.. Rfc5780Header().Split(output).Skip(1)];

    /// <summary>stun (stun-client) -v: "MappedAddress = 127.0.0.1:26564".</summary>
    public static List<IPEndPoint> StunMappedAddresses(string output) => All(StunMappedLine(), output);

    /// <summary>stun -v: "SourceAddress = 127.0.0.1:3478", where RFC 3489 says the answer came from.</summary>
    public static List<IPEndPoint> StunSourceAddresses(string output) => All(StunSourceLine(), output);

    /// <summary>stun -v: "ChangedAddress = 127.0.0.2:3479".</summary>
    public static List<IPEndPoint> StunChangedAddresses(string output) => All(StunChangedLine(), output);

    /// <summary>stun: "Return value is 0x000001", the value it also exits with.</summary>
    public static int? StunReturnValue(string output)
    {
        Match match = StunReturnLine().Match(output);
        return match.Success ? int.Parse(match.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>turn probe: "mapped address:   127.0.0.1:37233" and the other "label:   value" lines.</summary>
    public static string? ProbeField(string output, string label)
    {
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith(label + ":", StringComparison.Ordinal))
            {
                return line[(label.Length + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>The first and last port the kernel hands out to unbound sockets.</summary>
    public static (int First, int Last) EphemeralPortRange()
    {
        string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(range[0], CultureInfo.InvariantCulture), int.Parse(range[1], CultureInfo.InvariantCulture));
    }

    private static List<IPEndPoint> All(Regex regex, string output)
        => [.. regex.Matches(output).Select(m => IPEndPoint.Parse(m.Groups[1].Value))];

    [GeneratedRegex(@"UDP reflexive addr: (\S+)")]
    private static partial Regex ReflexiveLine();

    [GeneratedRegex(@"Response origin: : (\S+)")]
    private static partial Regex ResponseOriginLine();

    [GeneratedRegex(@"Other addr: : (\S+)")]
    private static partial Regex OtherAddressLine();

    [GeneratedRegex(@"RFC 5780 response \d+")]
    private static partial Regex Rfc5780Header();

    [GeneratedRegex(@"MappedAddress = (\S+)")]
    private static partial Regex StunMappedLine();

    [GeneratedRegex(@"SourceAddress = (\S+)")]
    private static partial Regex StunSourceLine();

    [GeneratedRegex(@"ChangedAddress = (\S+)")]
    private static partial Regex StunChangedLine();

    [GeneratedRegex(@"Return value is 0x([0-9a-fA-F]+)")]
    private static partial Regex StunReturnLine();
}
