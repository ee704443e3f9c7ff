#!/usr/bin/env bash
# Builds the self-contained Fusebox app image under dist/ (jlink + jpackage) and, where dpkg-deb and fakeroot are
# installed, a .deb of it. Run it as `./fusebox package`, which finds a JDK 25 and exports JAVA_HOME.
#
# The linked runtime holds every explicit module the app build copies into app/target/lib, so a new dependency or
# JDK module needs no change here; JavaFX's native libraries go next to the JVM's, where JavaFX looks first,
# instead of being unpacked into the user's home at every new version.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
NAME=Fusebox
DEB_PACKAGE=fusebox            # installs to /opt/fusebox; packaging/linux/postinst links /usr/bin/fusebox there
MAIN=dev.fusebox.app/dev.fusebox.app.Main
APP_JAR="$ROOT/app/target/fusebox-app.jar"
LIB_DIR="$ROOT/app/target/lib"
JAVA_OPTIONS="$ROOT/app/java-options"
WORK="$ROOT/target/package"
DIST="$ROOT/dist"

say() { echo "fusebox package: $*" >&2; }
die() { say "$*"; exit 2; }

usage() {
  cat <<'EOF'
Usage: ./fusebox package [--no-deb]
Builds dist/Fusebox (a self-contained app image: dist/Fusebox/bin/Fusebox runs the GUI and the CLI with its own
runtime) and, when dpkg-deb and fakeroot are installed, dist/fusebox_<version>_<arch>.deb.
  --no-deb    build the app image only
EOF
}

make_deb=yes
for arg in "$@"; do
  case "$arg" in
    --no-deb) make_deb=no ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$arg'." ;;
  esac
done

JDK="${JAVA_HOME:-}"
for tool in java jar jlink jpackage; do
  if [ -z "$JDK" ] || [ ! -x "$JDK/bin/$tool" ]; then
    die "needs JAVA_HOME set to a JDK 25 or newer with jlink and jpackage; run it as './fusebox package', which finds one."
  fi
done

rm -rf "$WORK"
mkdir -p "$WORK/modules" "$WORK/resources"

# Jars left in lib/ by an earlier dependency version would be duplicate modules to jlink: copy them afresh.
say "building the jars ..."
rm -rf "$LIB_DIR"
if ! (cd "$ROOT" && "$ROOT/mvnw" -B -Dstyle.color=never -Dmaven.test.skip=true package >"$WORK/build.log" 2>&1); then
  grep -E '^\[(ERROR|FATAL)\]' "$WORK/build.log" | head -n 20 >&2 || true
  die "the build failed; its log is target/package/build.log."
fi

# `java --list-modules` reads every jar's descriptor (multi-release ones included) in one JVM:
# "name[@version] file:///path.jar [automatic|open]" for each non-JDK module.
roots=()
javafx_jars=()
automatic=()
version=""
while read -r id uri flag; do
  [[ "$uri" == file:* ]] || continue
  path=${uri#file://}
  path=$(printf '%b' "${path//%/\\x}")
  module=${id%@*}
  if [ "${flag:-}" = automatic ]; then
    # JavaFX's artifacts without a platform classifier are empty placeholders beside the real -linux jars.
    if "$JDK/bin/jar" tf "$path" | grep -q '\.class$'; then automatic+=("${path#"$ROOT/"}"); fi
    continue
  fi
  cp "$path" "$WORK/modules/"
  roots+=("$module")
  if [[ "$module" == javafx.* ]]; then javafx_jars+=("$path"); fi
  if [ "$module" = "${MAIN%%/*}" ] && [[ "$id" == *@* ]]; then version=${id#*@}; fi
done < <("$JDK/bin/java" --module-path "$LIB_DIR:$APP_JAR" --list-modules)

[ ${#automatic[@]} -eq 0 ] || die "jlink links only explicit modules, and these jars have no module-info.class:" \
  "${automatic[*]}; use a release of them that is a module, or add a module-info with ModiTect."
[ -n "$version" ] || die "the app module ${MAIN%%/*} in $APP_JAR carries no version; the build sets it from the POM."

# Options from app/java-options, for the launcher; modules they add to the graph must be in the runtime too.
# The options in a file of one option per line (blank lines and # comments skipped), as java reads it as an @argfile.
options_in() { grep -v -E '^[[:space:]]*(#|$)' "$1" | awk '{ print $1 }'; }
mapfile -t app_options < <(options_in "$JAVA_OPTIONS")
java_options=()
for option in "${app_options[@]}"; do
  java_options+=(--java-options "$option")
  if [[ "$option" == --add-modules=* ]]; then
    IFS=, read -r -a added <<<"${option#--add-modules=}"
    roots+=("${added[@]}")
  fi
done

# The desktop entry's launcher: the same app with the Vector API's incubator module, whose kernel runs verify's
# forward pass 3-5x faster than plain loops (docs/benchmarks.md). The JVM announces the module on stderr at every
# start, which a launch from the desktop menu never shows; the command-line launcher goes without it, so its
# stderr keeps to the one sentence the CLI promises.
VECTOR_MODULE=jdk.incubator.vector
roots+=("$VECTOR_MODULE")
# jpackage gives every launcher a menu entry: this one's is packaging/linux/Fusebox-desktop.desktop, the main
# launcher's is hidden (Fusebox.desktop, NoDisplay).
echo "java-options=${app_options[*]} --add-modules=$VECTOR_MODULE" >"$WORK/desktop-launcher.properties"

say "linking the runtime (${#roots[@]} modules and the JDK modules they require) ..."
"$JDK/bin/jlink" \
  --module-path "$WORK/modules" \
  --add-modules "$(IFS=,; echo "${roots[*]}")" \
  --output "$WORK/runtime" \
  --strip-debug --no-header-files --no-man-pages --strip-native-commands \
  --compress zip-9 \
  '--exclude-resources=regex:/javafx\.[^/]+/[^/]+\.(so|jar)' \
  || die "jlink failed (its message is above)."
for jar in "${javafx_jars[@]}"; do
  mapfile -t natives < <("$JDK/bin/jar" tf "$jar" | grep -E '^[^/]+\.so$' || true)
  [ ${#natives[@]} -eq 0 ] || (cd "$WORK/runtime/lib" && "$JDK/bin/jar" xf "$jar" "${natives[@]}")
done

description=$(sed -n 's:^ *<description>\(.*\)</description> *$:\1:p' "$ROOT/pom.xml" | head -n 1)
common=(--name "$NAME" --description "$description" --vendor "The Fusebox authors")

say "making the app image $NAME $version ..."
rm -rf "${DIST:?}/$NAME"
mkdir -p "$DIST"
"$JDK/bin/jpackage" --type app-image --dest "$DIST" "${common[@]}" --app-version "$version" \
  --runtime-image "$WORK/runtime" --module "$MAIN" "${java_options[@]}" \
  --add-launcher "$NAME-desktop=$WORK/desktop-launcher.properties" \
  --icon "$ROOT/packaging/icons/fusebox-256.png" \
  || die "jpackage failed to make the app image (its message is above)."

# The licences: Fusebox's own, the notices the build read from every bundled library's POM
# (app/target/legal/THIRD-PARTY.txt, by the license-maven-plugin), the licence texts they name, and the LICENSE
# and NOTICE files the libraries carry in their jars. Under lib/, beside the runtime's own legal/: a .deb made
# from the image keeps only bin/ and lib/.
legal="$DIST/$NAME/lib/legal"
[ -f "$ROOT/app/target/legal/THIRD-PARTY.txt" ] || die "the build wrote no app/target/legal/THIRD-PARTY.txt."
mkdir -p "$legal/licenses"
cp "$ROOT/LICENSE" "$ROOT/NOTICE" "$ROOT/app/target/legal/THIRD-PARTY.txt" "$legal/"
cp "$ROOT"/packaging/licenses/*.txt "$legal/licenses/"
for jar in "$WORK"/modules/*.jar; do
  mapfile -t notices < <("$JDK/bin/jar" tf "$jar" | grep -E '^META-INF/[^/]*(LICENSE|NOTICE)[^/]*$' || true)
  [ ${#notices[@]} -gt 0 ] || continue
  dir="$legal/licenses/$(basename "$jar" .jar)"
  mkdir -p "$dir"
  (cd "$dir" && "$JDK/bin/jar" xf "$jar" "${notices[@]}" && mv META-INF/* . && rmdir META-INF)
done

# The desktop launcher's ahead-of-time cache (JDK 25: classes loaded and linked, with their profiles), as
# ./fusebox makes one: the run app/gui-training-options describes is recorded, then the cache is made from the
# recording. Both runs go through the launcher itself
# (JAVA_TOOL_OPTIONS), since the linked runtime has no java command. It adds about 47 MB and shows the sample's
# trees about a second sooner (docs/benchmarks.md); a cache that does not fit the machine is passed over.
say "training the desktop launcher's start-up cache ..."
aot="$DIST/$NAME/lib/app/$NAME-desktop.aot"
mapfile -t training < <(options_in "$ROOT/app/gui-training-options")
training+=(-Xlog:aot*=off -Xlog:cds*=off -Dfusebox.config.dir="$WORK/training/config"
  -Dfusebox.cache.dir="$WORK/training/cache")
for mode in record create; do
  output=()
  [ "$mode" = create ] && output=(-XX:AOTCache="$aot")
  JAVA_TOOL_OPTIONS="-XX:AOTMode=$mode -XX:AOTConfiguration=$WORK/desktop.aotconf ${output[*]} ${training[*]}" \
    timeout 300 "$DIST/$NAME/bin/$NAME-desktop" gui >"$WORK/aot-$mode.log" 2>&1 \
    || die "training the start-up cache failed in its $mode run; its log is target/package/aot-$mode.log."
done
echo 'java-options=-XX:AOTCache=$APPDIR/'"$NAME"'-desktop.aot' >>"$DIST/$NAME/lib/app/$NAME-desktop.cfg"
printf 'java-options=%s\n' -Xlog:aot*=off -Xlog:cds*=off >>"$DIST/$NAME/lib/app/$NAME-desktop.cfg"
echo "$(du -sh "$DIST/$NAME" | cut -f1)	dist/$NAME (run dist/$NAME/bin/$NAME)"

if [ "$make_deb" = yes ]; then
  if ! command -v dpkg-deb >/dev/null 2>&1; then
    say "no .deb: dpkg-deb is not installed (the app image is complete without it)."
  elif ! command -v fakeroot >/dev/null 2>&1; then
    say "no .deb: jpackage needs fakeroot to build one (Debian package fakeroot)."
  else
    say "making the .deb ..."
    rm -f "$DIST/${DEB_PACKAGE}"_*.deb
    # Made from an app image, a .deb takes its menu icon from the resource directory only.
    cp "$ROOT"/packaging/linux/* "$WORK/resources/"
    cp "$ROOT/packaging/icons/fusebox-256.png" "$WORK/resources/$NAME.png"
    cp "$ROOT/packaging/icons/fusebox-256.png" "$WORK/resources/$NAME-desktop.png"
    # jlink compressed the modules already; xz's default level would take minutes for a few percent.
    DPKG_DEB_COMPRESSOR_TYPE="${DPKG_DEB_COMPRESSOR_TYPE:-gzip}" \
      "$JDK/bin/jpackage" --type deb --dest "$DIST" "${common[@]}" \
      --app-image "$DIST/$NAME" --app-version "${version//-/\~}" \
      --linux-package-name "$DEB_PACKAGE" --linux-app-category science --linux-shortcut \
      --resource-dir "$WORK/resources" \
      || die "jpackage failed to make the .deb (its message is above)."
    for deb in "$DIST/${DEB_PACKAGE}"_*.deb; do echo "$(du -h "$deb" | cut -f1)	${deb#"$ROOT/"}"; done
  fi
fi
rm -rf "$WORK"
say "done in ${SECONDS}s."
