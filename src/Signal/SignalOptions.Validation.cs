using System.Globalization;

namespace Turn.Signal;

/// <summary>
/// What values the signaling options may take, declared here once: the daemon's configuration
/// reader takes the ranges of <see cref="WholeNumbers"/> and reports <see cref="Validate"/>'s
/// problems under the same keys, and <see cref="SignalEndpoints.AddSignal"/> refuses options
/// with any problem, however they were made.
/// </summary>
public sealed partial record SignalOptions
{
    /// <summary>The configuration section the keys below live in.</summary>
    public const string Section = "Signal";

    /// <summary>The whole-number settings: each key (under <see cref="Section"/>), its range, and its property.</summary>
    public static IReadOnlyList<SignalSetting> WholeNumbers { get; } =
    [
        new("MaxMessageBytes", 256, 1 << 20, o => o.MaxMessageBytes, (o, v) => o with { MaxMessageBytes = v }),
        new("MessagesPerSecond", 0, 100_000, o => o.MessagesPerSecond, (o, v) => o with { MessagesPerSecond = v }),
        new("MaxPeersPerRoom", 2, 100_000, o => o.MaxPeersPerRoom, (o, v) => o with { MaxPeersPerRoom = v }),
        new("MaxRooms", 1, 10_000_000, o => o.MaxRooms, (o, v) => o with { MaxRooms = v }),
        new("ResumeGraceSeconds", 0, 3600, o => o.ResumeGraceSeconds, (o, v) => o with { ResumeGraceSeconds = v }),
        new("ResumeQueueLength", 0, 100_000, o => o.ResumeQueueLength, (o, v) => o with { ResumeQueueLength = v }),
        new("SendQueueLength", 8, 100_000, o => o.SendQueueLength, (o, v) => o with { SendQueueLength = v }),
        new("PingIntervalSeconds", 1, 29, o => o.PingIntervalSeconds, (o, v) => o with { PingIntervalSeconds = v }),
        new("SendQueueBytes", 16 * 1024, 64 << 20, o => o.SendQueueBytes, (o, v) => o with { SendQueueBytes = v }),
        new("ResumeQueueBytes", 0, 64 << 20, o => o.ResumeQueueBytes, (o, v) => o with { ResumeQueueBytes = v }),
        // Configured in megabytes; a budget set in bytes counts as the megabytes it needs.
        new("MaxQueuedMegabytes", 1, 1 << 20, o => Megabytes(o.MaxQueuedBytes), (o, v) => o with { MaxQueuedBytes = v * (1L << 20) }),
        new("QueuedMegabytesPerAddress", 1, 1 << 20, o => Megabytes(o.MaxQueuedBytesPerAddress), (o, v) => o with { MaxQueuedBytesPerAddress = v * (1L << 20) }),
        new("MaxConnections", 1, 10_000_000, o => o.MaxConnections, (o, v) => o with { MaxConnections = v }),
        new("CredentialsPerMinute", 0, 1_000_000, o => o.CredentialsPerMinute, (o, v) => o with { CredentialsPerMinute = v }),
        new("JoinsPerSecond", 0, 100_000, o => o.JoinsPerSecond, (o, v) => o with { JoinsPerSecond = v }),
        new("MaxConnectionsPerAddress", 1, 10_000_000, o => o.MaxConnectionsPerAddress, (o, v) => o with { MaxConnectionsPerAddress = v }),
        new("MaxPeersPerAddress", 1, 10_000_000, o => o.MaxPeersPerAddress, (o, v) => o with { MaxPeersPerAddress = v }),
        new("MaxPeersPerRoomPerAddress", 1, 100_000, o => o.MaxPeersPerRoomPerAddress, (o, v) => o with { MaxPeersPerRoomPerAddress = v }),
        new("MaxRoomsPerAddress", 1, 10_000_000, o => o.MaxRoomsPerAddress, (o, v) => o with { MaxRoomsPerAddress = v }),
    ];

    /// <summary>Every problem of these options, each naming its key; secrets are never echoed.</summary>
    public IReadOnlyList<SignalOptionsProblem> Validate()
    {
        var problems = new List<SignalOptionsProblem>();
        void Add(string key, string? value, string problem) => problems.Add(new($"{Section}:{key}", value, problem));

        foreach (SignalSetting setting in WholeNumbers)
        {
            int value = setting.Get(this);
            if (value < setting.Min || value > setting.Max)
            {
                Add(setting.Key, value.ToString(CultureInfo.InvariantCulture), $"is not a whole number ({setting.Min}-{setting.Max})");
            }
        }

        if (!Path.StartsWith('/'))
        {
            Add("Path", Path, "must start with /");
        }

        // Both can be attacked offline (a token's HMAC, the key against the API): 32 characters at least.
        if (JoinTokenSecret is { Length: < 32 })
        {
            Add("JoinTokenSecret", null, "is shorter than 32 characters; use a long random value");
        }

        if (ApiKey is { Length: < 32 })
        {
            Add("ApiKey", null, "is shorter than 32 characters; use a long random value");
        }

        if (UnsafeOpenAdmission && JoinTokenSecret is not null)
        {
            Add("UnsafeOpenAdmission", "true", $"contradicts {Section}:JoinTokenSecret: joins would need tokens anyway; remove one");
        }

        if (Redis is not null)
        {
            // A StackExchange.Redis configuration string may hold a password: never echoed.
            try
            {
                if (StackExchange.Redis.ConfigurationOptions.Parse(Redis).EndPoints.Count == 0)
                {
                    Add("Redis", null, "names no Redis endpoint (e.g. redis:6379 or 127.0.0.1:6379,password=...)");
                }
            }
            catch (ArgumentException e)
            {
                Add("Redis", null, $"is not a Redis configuration ({e.Message.Split('\n')[0]})");
            }
        }

        return problems;
    }

    private static int Megabytes(long bytes) => (int)Math.Clamp((bytes + (1L << 20) - 1) >> 20, int.MinValue, int.MaxValue);
}

/// <summary>A whole-number signaling setting: its key under <see cref="SignalOptions.Section"/>, its range, and its property.</summary>
public sealed record SignalSetting(string Key, int Min, int Max, Func<SignalOptions, int> Get, Func<SignalOptions, int, SignalOptions> Set);

/// <summary>One problem of a <see cref="SignalOptions"/>: the key, the value (null for a secret), what is wrong.</summary>
public sealed record SignalOptionsProblem(string Key, string? Value, string Problem)
{
    public override string ToString() => Value is null ? $"{Key}: {Problem}" : $"{Key}: \"{Value}\" {Problem}";
}
