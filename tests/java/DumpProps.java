// DumpProps.java — the reference for vcompc's properties scanner.
//
// Loads FILE with java.util.Properties.load(Reader) over UTF-8, exactly as
// the JDK reads properties, and prints every key and value as one JSON
// object per line, sorted by key:  {"key":"...","value":"..."}
// Strings are escaped as vcompc --emit=keys escapes them: \" \\ and
// backslash-u00XX (lower-case hex) for characters below U+0020; everything else is
// written as UTF-8.  tests/check-properties-java.sh compares the two.
//
// usage: java DumpProps.java FILE      (Java 11+ single-file mode)
// Exit status 1 when Properties.load throws (e.g. a malformed backslash-u escape).

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.TreeSet;

public class DumpProps {
	static String json(String s) {
		StringBuilder b = new StringBuilder("\"");
		for (int i = 0; i < s.length(); i++) {
			char c = s.charAt(i);
			if (c == '"' || c == '\\')
				b.append('\\').append(c);
			else if (c < 0x20)
				b.append(String.format("\\u%04x", (int)c));
			else
				b.append(c);
		}
		return b.append('"').toString();
	}

	public static void main(String[] args) throws Exception {
		Properties p = new Properties();
		try (Reader r = new InputStreamReader(new FileInputStream(args[0]),
		    StandardCharsets.UTF_8)) {
			p.load(r);
		} catch (IllegalArgumentException e) {
			System.err.println("DumpProps: " + args[0] + ": " + e.getMessage());
			System.exit(1);
		}
		PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out),
		    false, StandardCharsets.UTF_8);
		for (String k : new TreeSet<>(p.stringPropertyNames()))
			out.println("{\"key\":" + json(k) + ",\"value\":" + json(p.getProperty(k)) + "}");
		out.flush();
	}
}
