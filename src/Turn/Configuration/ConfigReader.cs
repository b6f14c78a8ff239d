using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace Turn.Configuration;

/// <summary>
/// Reads typed values from configuration and collects every problem, each naming the key and
/// the bad value, instead of stopping at the first. Keys it was never asked for are reported
/// as unknown, so a misspelt key does not go silently unused. A list is taken whole from the
/// one source of highest precedence that sets it (an environment variable replaces the file's
/// list rather than overwriting some of its items), and every value read is remembered with
/// where it came from, for `turn check-config --show`.
/// </summary>
internal sealed class ConfigReader(IConfiguration configuration)
{
    private const string Masked = "********";

    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];
    private readonly List<ConfigEntry> _entries = [];
    private readonly HashSet<string> _asked = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Problems that do not stop start-up but weaken what the defaults promise (logged at start, printed by check-config).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Every key read, with its effective value (secrets masked) and where it came from.</summary>
    public IReadOnlyList<ConfigEntry> Entries => _entries;

    public void Error(string key, string? value, string problem)
        => _errors.Add(value is null ? $"{key}: {problem}" : $"{key}: \"{value}\" {problem}");

    public void Warning(string warning) => _warnings.Add(warning);

    /// <summary>A key that is no longer read: set, it is an error that says what took its place.</summary>
    public void Replaced(string key, string problem)
    {
        if (Raw(key) is { } value)
        {
            Error(key, value, problem);
        }
    }

    /// <summary>A text value, trimmed; null when unset or blank. A <paramref name="secret"/> is shown masked.</summary>
    public string? Text(string key, bool secret = false)
    {
        string? value = Raw(key);
        value = string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        Show(key, value is null ? "" : secret ? Masked : value, value is null);
        return value;
    }

    public string Text(string key, string fallback, int maxLength)
    {
        string? value = Raw(key);
        if (value is not null && value.Length > maxLength)
        {
            Error(key, value, $"is longer than {maxLength} characters");
            value = null;
        }

        Show(key, value ?? fallback, value is null);
        return value ?? fallback;
    }

    public int Int(string key, int fallback, int min, int max, string what = "a whole number")
    {
        string? value = Raw(key)?.Trim();
        int result = fallback;
        if (!string.IsNullOrEmpty(value)
            && (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out result) || result < min || result > max))
        {
            Error(key, value, $"is not {what} ({min}-{max})");
            result = fallback;
        }

        Show(key, result.ToString(CultureInfo.InvariantCulture), string.IsNullOrEmpty(value));
        return result;
    }

    public bool Bool(string key, bool fallback)
    {
        string? value = Raw(key)?.Trim();
        bool result = fallback;
        if (!string.IsNullOrEmpty(value) && !bool.TryParse(value, out result))
        {
            Error(key, value, "is not true or false");
            result = fallback;
        }

        Show(key, result ? "true" : "false", string.IsNullOrEmpty(value));
        return result;
    }

    public int Port(string key, int fallback) => Int(key, fallback, 1, 65535, "a port");

    public IPAddress? Address(string key)
    {
        string? value = Text(key);
        if (value is null)
        {
            return null;
        }

        if (!IPAddress.TryParse(value, out IPAddress? address))
        {
            Error(key, value, "is not an IP address");
        }

        return address;
    }

    /// <summary>
    /// A JSON array (key:0, key:1...) or, handy in an environment variable, a comma-separated string;
    /// null when no source sets the key. The list comes whole from the source of highest precedence
    /// that sets the key or any item of it. <paramref name="fallback"/> is only what `--show` prints
    /// when the key is unset; <paramref name="mask"/> turns an item into what `--show` prints of it.
    /// </summary>
    public IReadOnlyList<string>? List(string key, IEnumerable<object>? fallback = null, Func<string, string>? mask = null)
    {
        _asked.Add(key);
        foreach (IConfigurationSection child in configuration.GetSection(key).GetChildren())
        {
            _asked.Add(child.Path);
        }

        IConfigurationProvider? provider = Winner(key, list: true);
        List<string>? items = null;
        if (provider is not null)
        {
            items = [];
            List<string> children = [.. provider.GetChildKeys([], key).Distinct(StringComparer.OrdinalIgnoreCase)];
            children.Sort(ConfigurationKeyComparer.Instance);
            foreach (string child in children)
            {
                if (provider.TryGet(ConfigurationPath.Combine(key, child), out string? value) && !string.IsNullOrWhiteSpace(value))
                {
                    items.Add(value.Trim());
                }
            }

            if (provider.TryGet(key, out string? text) && !string.IsNullOrEmpty(text))
            {
                if (children.Count > 0)
                {
                    Error(key, null, $"is given both as one value and as items ({key}:0...) by the same source ({Describe(provider, key)}); give one");
                }
                else
                {
                    items.AddRange(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                }
            }
        }
        else if (configuration is not IConfigurationRoot && configuration.GetSection(key).Exists())
        {
            // A configuration without providers to tell apart (tests): the merged view.
            IConfigurationSection section = configuration.GetSection(key);
            items = [.. section.GetChildren().Select(c => c.Value).OfType<string>().Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v.Trim())];
            if (items.Count == 0 && section.Value is not null)
            {
                items.AddRange(section.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
        }

        IEnumerable<string> shown = items ?? (fallback ?? []).Select(o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "");
        _entries.Add(new ConfigEntry(key, "[" + string.Join(", ", shown.Select(i => mask is null ? i : mask(i))) + "]", items is null ? "default" : Describe(provider, key)));
        return items;
    }

    /// <summary>Reads one item of a list; false when the text is not one.</summary>
    public delegate bool ItemParser<T>(string text, out T item);

    /// <summary>
    /// A list whose every item is parsed; each item that is not reports "key:i: "text" problem"
    /// and is left out. Null when the key is absent.
    /// </summary>
    public List<T>? List<T>(string key, ItemParser<T> parse, string problem, IEnumerable<object>? fallback = null)
    {
        IReadOnlyList<string>? items = List(key, fallback);
        if (items is null)
        {
            return null;
        }

        var parsed = new List<T>();
        for (int i = 0; i < items.Count; i++)
        {
            if (parse(items[i], out T item))
            {
                parsed.Add(item);
            }
            else
            {
                Error($"{key}:{i}", items[i], problem);
            }
        }

        return parsed;
    }

    /// <summary>The value the configuration holds for a scalar key (the merged view), marking it asked.</summary>
    private string? Raw(string key)
    {
        _asked.Add(key);
        return configuration[key];
    }

    /// <summary>Records a scalar for `--show`: its value and the source that set it.</summary>
    private void Show(string key, string value, bool isDefault)
        => _entries.Add(new ConfigEntry(key, value, isDefault ? "default" : Describe(Winner(key, list: false), key)));

    /// <summary>The source of highest precedence that sets the key (for a list: the key or any item of it).</summary>
    private IConfigurationProvider? Winner(string key, bool list)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return null;
        }

        IConfigurationProvider? winner = null;
        foreach (IConfigurationProvider provider in root.Providers)
        {
            if (provider.TryGet(key, out _) || (list && provider.GetChildKeys([], key).Any()))
            {
                winner = provider;
            }
        }

        return winner;
    }

    private static string Describe(IConfigurationProvider? provider, string key) => provider switch
    {
        EnvironmentVariablesConfigurationProvider => "environment " + TurnConfiguration.EnvironmentPrefix + key.Replace(":", "__", StringComparison.Ordinal),
        JsonConfigurationProvider json => "file " + (json.Source.FileProvider?.GetFileInfo(json.Source.Path ?? "").PhysicalPath ?? json.Source.Path),
        null => "default",
        _ => provider.ToString() ?? "configuration",
    };

    /// <summary>Reports keys never asked for, outside the sections other components own.</summary>
    public void ReportUnknownKeys(params string[] foreignSections)
    {
        foreach (KeyValuePair<string, string?> pair in configuration.AsEnumerable())
        {
            if (pair.Value is null || _asked.Contains(pair.Key))
            {
                continue;
            }

            string section = pair.Key.Split(':')[0];
            if (Array.Exists(foreignSections, s => string.Equals(s, section, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            Error(pair.Key, null, "is not a known setting (see turn.example.json)");
        }
    }
}
