using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Turn.Tests.Interop;

/// <summary>Reads what turnutils_uclient (coturn 4.6.1) prints, with -v, about its run.</summary>
internal static partial class UclientOutput
{
    /// <summary>"Total lost packets 0 (0.000000%), total send dropped 0 (0.000000%)".</summary>
    public static long? LostPackets(string output)
    {
        Match match = LostLine().Match(output);
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The final "start_mclient: tot_send_msgs=100, tot_recv_msgs=100", not the once-a-second progress lines (those carry "msz=").</summary>
    public static (long Sent, long Received)? Totals(string output)
    {
        Match match = TotalsLine().Match(output);
        return match.Success
            ? (long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture))
            : null;
    }

    /// <summary>"Average round trip delay 0.100000 ms; min = 0 ms, max = 5 ms", in milliseconds.</summary>
    public static double? AverageRoundTripMilliseconds(string output)
    {
        Match match = RoundTripLine().Match(output);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>
    /// -v: "IPv6. Received relay addr: ::1:45162", once per XOR-RELAYED-ADDRESS it looked at. uclient
    /// stops at the first address of the family it wants, so a dual allocation shows both families
    /// only when IPv6 is preferred (-x): the server lists IPv4 first.
    /// </summary>
    public static List<IPEndPoint> RelayAddresses(string output) => All(RelayLine(), output);

    /// <summary>-v: "IPv4. Connected to: 127.0.0.1:3478", the server address of each connection.</summary>
    public static List<IPEndPoint> ServerAddresses(string output) => All(ConnectedToLine(), output);

    /// <summary>-v: "allocate response received", once for each Allocate answered (a 401 challenge included).</summary>
    public static int AllocateResponses(string output) => AllocateResponseLine().Count(output);

    /// <summary>uclient prints IPv6 endpoints without brackets ("::1:45162"): the port follows the last colon.</summary>
    private static List<IPEndPoint> All(Regex regex, string output)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (Match match in regex.Matches(output))
        {
            string text = match.Groups[1].Value;
            int colon = text.LastIndexOf(':');
            endpoints.Add(new IPEndPoint(IPAddress.Parse(text[..colon]), int.Parse(text[(colon + 1)..], CultureInfo.InvariantCulture)));
        }

        return endpoints;
    }

    [GeneratedRegex(@"Total lost packets (\d+) \(")]
    private static partial Regex LostLine();

    [GeneratedRegex(@"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex TotalsLine();

    [GeneratedRegex(@"Average round trip delay ([0-9.]+) ms")]
    private static partial Regex RoundTripLine();

    [GeneratedRegex(@"IPv[46]\. Received relay addr: (\S+)")]
    private static partial Regex RelayLine();

    [GeneratedRegex(@"IPv[46]\. Connected to: (\S+)")]
    private static partial Regex ConnectedToLine();

    [GeneratedRegex(@"allocate response received")]
    private static partial Regex AllocateResponseLine();
}
